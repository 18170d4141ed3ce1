"""The shared PostgreSQL and RabbitMQ that `make test` starts, as the tests reach them."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "NEURALL_TEST_POSTGRES_URL", "postgres://neurall:neurall@127.0.0.1:5432/postgres"
)
# The RabbitMQ `make test` starts; tests add a vhost of their own on it (rabbitmq_vhost).
BROKER_BASE_URL = os.environ.get("NEURALL_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
_KEEP_TABLES = {"tortoise_migrations"}
# Tortoise's asyncpg pool holds 5 connections by default; ``pooled`` asks for more so that
# many transactions really run at once.
POOL_CONNECTIONS = 20


# The test being set up or run, set by the root conftest.py: reaching a service checks that
# the test carries its marker, so a test can reach one only through a fixture that gives
# the marker (tests/conftest.py, SERVICE_MARKERS), and the markers cannot drift.
current_test: pytest.Item | None = None


def require(marker: str) -> None:
    """Fail the current test unless it carries ``marker`` (outside pytest: nothing)."""
    if current_test is not None and current_test.get_closest_marker(marker) is None:
        pytest.fail(
            f"{current_test.nodeid} reaches {marker} without the {marker} marker: use the "
            "fixture that gives it (tests/conftest.py, SERVICE_MARKERS)",
            pytrace=False,
        )


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion on a fresh loop in its own thread: session fixtures
    may be first requested from inside a test's running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def pg_admin() -> asyncpg.Connection:
    """A connection to the server's ``postgres`` database; fails the test if unreachable."""
    require("postgres")
    try:
        return await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); "
            "run `make services` (make test does it for you)",
            pytrace=False,
        )


async def pg_admin_execute(sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the admin connection."""
    conn = await pg_admin()
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    """Drop a test's database, its connections with it. FORCE cannot end an autovacuum
    worker (a superuser's process) that has just started on the new database: that one
    ends within moments, so the drop is tried again meanwhile."""
    for attempt in range(50):
        try:
            await pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)


async def truncate_postgres(url: str) -> None:
    """Empty every table of ``url`` but the migrations' record."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            if r["tablename"] not in _KEEP_TABLES
        ]
        if tables:
            await conn.execute(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
    finally:
        await conn.close()


def pooled(url: str) -> str:
    """``url`` with a connection pool of ``POOL_CONNECTIONS`` on PostgreSQL."""
    return f"{url}?maxsize={POOL_CONNECTIONS}" if url.startswith("postgres") else url


def rabbitmqctl(*args: str) -> str:
    require("rabbitmq")
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"rabbitmqctl {args} failed: {result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Vhost:
    name: str
    url: str
