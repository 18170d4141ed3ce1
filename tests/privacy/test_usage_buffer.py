"""Usage rows are written in batches: after the flush interval, once enough rows wait, on
the app's shutdown; the buffer never holds more than its bound and never drops a row."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest

from neurall.app import create_app
from neurall.config import Settings
from neurall.orm import database
from neurall.orm.privacy import UsageLog
from neurall.privacy.usage import UsageLogBuffer, usage_row
from tests.support.factories import create_key, sign_up
from tests.support.graphql import GraphQLClient
from tests.support.poll import until

ME = "{ me { id } }"


def _row(account_id: uuid.UUID | None = None, operation: str = "me") -> UsageLog:
    return usage_row(
        account_id=account_id or uuid.uuid4(),
        api_key_id=uuid.uuid4(),
        operation=operation,
        duration_ms=1,
        ok=True,
        ip="127.0.0.1",
        user_agent="test",
    )


async def _until_count(expected: int, timeout_s: float = 20) -> float:
    """Seconds (monotonic clock) at which the table first held ``expected`` rows."""
    await until(
        lambda: UsageLog.all().count(),
        lambda count: count == expected,
        within=timeout_s,
        every=0.02,
        what=f"{expected} usage rows",
    )
    return time.monotonic()


async def _app_client(aiohttp_client: Any, settings: Settings, **changes: Any) -> GraphQLClient:
    return GraphQLClient(await aiohttp_client(create_app(settings.model_copy(update=changes))))


async def test_rows_are_written_after_the_flush_interval(aiohttp_client, settings):
    client = await _app_client(aiohttp_client, settings, usage_flush_interval_ms=1000)
    await sign_up(client)
    key = await create_key(client)
    began = time.monotonic()
    await client.data(ME, api_key=key)
    # Waiting in memory: one interval has not passed yet.
    assert await UsageLog.all().count() == 0
    written = await _until_count(1)
    assert written - began >= 1.0 * 0.95  # the timer's resolution, not a shorter interval


async def test_rows_are_written_on_app_shutdown(aiohttp_client, settings):
    # No interval or batch size is reached: only the shutdown can write these rows.
    client = await _app_client(
        aiohttp_client, settings, usage_flush_interval_ms=3_600_000, usage_flush_rows=1000
    )
    await sign_up(client)
    key = await create_key(client)
    for _ in range(3):
        await client.data(ME, api_key=key)
    assert await UsageLog.all().count() == 0
    await client.http.close()  # the app's real cleanup; the database closes with it
    async with database.database(settings.database_url):
        assert await UsageLog.filter(operation="me").count() == 3


async def test_a_full_batch_is_written_at_once(database_url):
    async with database.database(database_url):
        buffer = UsageLogBuffer(flush_interval_s=3600, flush_rows=10, max_rows=100)
        buffer.start()
        try:
            for _ in range(9):
                await buffer.add(_row())
            await asyncio.sleep(0.2)
            assert await UsageLog.all().count() == 0
            await buffer.add(_row())
            await _until_count(10)
            # The rows are visible once committed; the buffer lets go of them just after.
            await until(lambda: buffer.pending, lambda pending: pending == 0, within=5, every=0.02)
        finally:
            await buffer.close()


async def test_the_bound_is_respected_and_no_row_is_dropped(database_url):
    async with database.database(database_url):
        buffer = UsageLogBuffer(flush_interval_s=3600, flush_rows=4, max_rows=4)
        buffer.start()
        try:
            for _ in range(23):
                await buffer.add(_row())
                assert buffer.pending <= 4
            # Concurrent adders wait for room instead of overfilling the buffer.
            seen: list[int] = []

            async def add() -> None:
                await buffer.add(_row())
                seen.append(buffer.pending)

            await asyncio.gather(*(add() for _ in range(40)))
            assert max(seen) <= 4
        finally:
            await buffer.close()
        assert await UsageLog.all().count() == 63


async def test_rows_survive_a_failed_write(database_url, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    async with database.database(database_url):
        buffer = UsageLogBuffer(flush_interval_s=0.05, flush_rows=3, max_rows=3)
        real_bulk_create = UsageLog.bulk_create
        failing = True

        async def flaky_bulk_create(*args: Any, **kwargs: Any) -> Any:
            if failing:
                # Database errors can quote a row's values: none may reach the log.
                raise ConnectionError("row rejected: ip 127.0.0.1, agent test")
            return await real_bulk_create(*args, **kwargs)

        monkeypatch.setattr(UsageLog, "bulk_create", flaky_bulk_create)
        buffer.start()
        try:
            for _ in range(3):
                await buffer.add(_row())
            await asyncio.sleep(0.3)  # several failed attempts
            assert buffer.pending == 3
            # Full and the database still down: the caller hears of it; nothing is evicted.
            with pytest.raises(ConnectionError):
                await buffer.add(_row())
            assert buffer.pending == 3
            failing = False
            await _until_count(3)  # the writer's retry
            # The rows are visible once committed; the buffer lets go of them just after.
            await until(lambda: buffer.pending, lambda pending: pending == 0, within=5, every=0.02)
        finally:
            await buffer.close()
    ours = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name.startswith("neurall")
    )
    assert "could not write 3 usage rows (ConnectionError)" in ours
    assert "127.0.0.1" not in ours


async def test_an_erased_accounts_waiting_rows_are_discarded(database_url):
    async with database.database(database_url):
        erased, kept = uuid.uuid4(), uuid.uuid4()
        buffer = UsageLogBuffer(flush_interval_s=3600, flush_rows=100, max_rows=100)
        buffer.start()
        try:
            for account in (erased, kept, erased):
                await buffer.add(_row(account))
            assert await buffer.discard_account(erased) == 2
        finally:
            await buffer.close()
        assert await UsageLog.all().values_list("account_id", flat=True) == [kept]


async def test_rows_added_after_close_are_written_at_once(database_url):
    async with database.database(database_url):
        buffer = UsageLogBuffer(flush_interval_s=3600, flush_rows=100, max_rows=100)
        buffer.start()
        await buffer.close()
        await buffer.add(_row())
        assert buffer.pending == 0
        assert await UsageLog.all().count() == 1
