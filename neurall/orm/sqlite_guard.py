"""A SQLite transaction that fails to begin gives its connection's lock back.

Tortoise (1.1) runs every SQLite transaction of a process on one connection, under one
asyncio lock: ``SqliteTransactionContext.__aenter__`` takes the lock, then awaits the
connection and ``BEGIN``. An exception at those awaits (above all a task cancelled there:
a shutdown, a timeout, a client gone) never reaches ``__aexit__``, so the lock stays taken
and every later transaction of the process, and the database's close, waits forever. Seen
as `neurall serve` on SQLite (and a test's app) hanging at shutdown once the queue announced
positions from tasks of their own. ``install`` replaces ``__aenter__`` with one that, when
entering fails after the lock was taken, rolls back what ``BEGIN`` may have started and
releases the lock before the exception goes on.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.sqlite.client import SqliteTransactionContext
from tortoise.connection import get_connections


async def _enter(self: SqliteTransactionContext) -> Any:
    await self._trxlock.acquire()
    token = None
    try:
        await self.ensure_connection()
        token = get_connections().set(self.connection_name, self.connection)
        await self.connection.begin()
    except BaseException:
        try:
            raw = self.connection._connection
            if raw is not None and raw.in_transaction:
                await raw.rollback()
        finally:
            if token is not None:
                get_connections().reset(token)
            self._trxlock.release()
        raise
    self.token = token
    return self.connection


def install() -> None:
    SqliteTransactionContext.__aenter__ = _enter  # type: ignore[method-assign]
