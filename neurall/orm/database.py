"""Opening, migrating and checking the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from neurall.orm import sqlite_guard
from neurall.orm.config import APP_LABEL, tortoise_config

log = logging.getLogger(__name__)

sqlite_guard.install()


def _ensure_sqlite_dir(database_url: str) -> None:
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def migrate(database_url: str, target: str | None = None) -> None:
    """Apply every pending migration, or those up to ``target`` ("neurall.0008_domain_events").
    Safe to run again: applied ones are recorded."""
    _ensure_sqlite_dir(database_url)
    try:
        await tortoise_migrate(config=tortoise_config(database_url), target=target)
    finally:
        await Tortoise.close_connections()


async def pending_model_changes(database_url: str) -> list[str]:
    """Names of migrations ``makemigrations`` would write now: empty when models and
    migrations agree."""
    from tortoise.cli.cli import tortoise_cli_context  # the CLI's own context manager

    config = tortoise_config(database_url)
    apps = config["apps"]
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, apps).changes()
    return [f"{w.app_label}.{w.name}" for w in writers]


async def open_database(database_url: str) -> TortoiseContext:
    """Initialise Tortoise; returns its context, which ``close_database`` needs.

    Tortoise 1.x keeps its state in a context variable. Closing through the returned
    context (rather than whatever context is current) matters when start and shutdown run
    in different tasks, as aiohttp's cleanup_ctx does under test runners: otherwise the
    connections (and aiosqlite's worker threads) outlive the app.
    """
    _ensure_sqlite_dir(database_url)
    return await Tortoise.init(config=tortoise_config(database_url))


async def close_database(context: TortoiseContext) -> None:
    await context.close_connections()


@asynccontextmanager
async def database(database_url: str) -> AsyncIterator[None]:
    context = await open_database(database_url)
    try:
        yield
    finally:
        await close_database(context)


async def is_reachable() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means "not ready"; the reason goes to the log
        log.warning("database not reachable", exc_info=True)
        return False
    return True


__all__ = [
    "APP_LABEL",
    "close_database",
    "database",
    "is_reachable",
    "migrate",
    "open_database",
    "pending_model_changes",
]
