"""Migrations: the checked-in files match the models and apply on both databases."""

from __future__ import annotations

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
