"""Migrations: the checked-in files match the models and apply on both databases."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from tortoise import connections

from neurall.orm import database


async def test_models_and_migrations_agree(tmp_path):
    assert await database.pending_model_changes(f"sqlite://{tmp_path / 'x.sqlite3'}") == []


@pytest.mark.usefixtures("database_url")
async def test_migrations_applied_and_reapplying_is_a_no_op(database_url):
    # The fixture migrated this database; running migrate again must change nothing.
    await database.migrate(database_url)
    context = await database.open_database(database_url)
    try:
        rows = await connections.get("default").execute_query_dict(
            "SELECT COUNT(*) AS n FROM tortoise_migrations"
        )
        assert rows[0]["n"] >= 1
        assert await database.is_reachable()
    finally:
        await database.close_database(context)


async def test_the_catalog_migration_gives_existing_rows_the_model_they_ran_on(tmp_path):
    """Jobs and clones made before the model catalog ran on the one model there was, the
    built-in tiny SD model: the migration that adds the model columns says so for them, and
    leaves old usage rows without a model rather than guessing one."""
    path = tmp_path / "before-catalog.sqlite3"
    await database.migrate(f"sqlite://{path}", target="neurall.0008_domain_events")
    with sqlite3.connect(path) as db:
        for table in ("account", "job", "clone", "usage_log"):
            _insert_placeholder_row(db, table)

    await database.migrate(f"sqlite://{path}")

    with sqlite3.connect(path) as db:
        assert db.execute("SELECT model FROM job").fetchall() == [("tiny-sd",)]
        assert db.execute("SELECT base_model FROM clone").fetchall() == [("tiny-sd",)]
        assert db.execute("SELECT model FROM usage_log").fetchall() == [(None,)]


def _insert_placeholder_row(db: sqlite3.Connection, table: str) -> None:
    """A row with a value in every required column, typed by the column: the test is about
    the columns the migration adds, not these. Every row belongs to the one account."""
    columns = [
        (name, kind)
        for _, name, kind, not_null, default, _ in db.execute(f"PRAGMA table_info({table})")
        if not_null and default is None
    ]
    values = [_placeholder(table, name, kind) for name, kind in columns]
    names = ", ".join(name for name, _ in columns)
    marks = ", ".join("?" * len(columns))
    db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)


ACCOUNT_ID = str(uuid.uuid4())


def _placeholder(table: str, column: str, kind: str) -> object:
    if column == "account_id" or (table, column) == ("account", "id"):
        return ACCOUNT_ID
    if column == "id":
        return str(uuid.uuid4())
    if kind in ("INT", "BIGINT", "SMALLINT", "REAL"):
        return 0
    if kind == "TIMESTAMP":
        return "2026-01-01 00:00:00+00:00"
    return "x"
