"""A task cancelled while its SQLite transaction begins leaves the database usable
(neurall.orm.sqlite_guard): before, the connection's lock stayed taken and every later
transaction, and the database's close, waited forever."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tortoise.backends.sqlite.client import SqliteTransactionWrapper
from tortoise.transactions import in_transaction

from neurall.orm import database
from neurall.orm.accounts import Account


async def test_a_transaction_cancelled_as_it_begins_gives_the_lock_back(
    tmp_path: Path, monkeypatch
) -> None:
    url = f"sqlite://{tmp_path / 'db.sqlite3'}"
    await database.migrate(url)
    async with database.database(url):
        beginning = asyncio.Event()
        begin = SqliteTransactionWrapper.begin

        async def slow_begin(self: SqliteTransactionWrapper) -> None:
            await begin(self)  # BEGIN has run: the rollback must undo it
            beginning.set()
            await asyncio.Event().wait()

        monkeypatch.setattr(SqliteTransactionWrapper, "begin", slow_begin)

        async def write() -> None:
            async with in_transaction():
                await Account.create(email="never@example.com")

        task = asyncio.create_task(write())
        await asyncio.wait_for(beginning.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        monkeypatch.setattr(SqliteTransactionWrapper, "begin", begin)

        async def another() -> None:
            async with in_transaction():
                await Account.create(email="after@example.com")

        await asyncio.wait_for(another(), 10)
        assert [a.email for a in await Account.all()] == ["after@example.com"]
