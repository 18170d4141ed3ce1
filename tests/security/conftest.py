"""Fixtures for the security tests: an app with chosen settings on a throwaway SQLite copy.

Middleware, websocket and limit checks do not depend on the database backend, so they run
on SQLite only (fast); the authorization matrix and the audit log use ``database_url`` and
so run on PostgreSQL too.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from neurall.app import create_app
from neurall.config import load_settings
from tests.support.graphql import GraphQLClient

MakeClient = Callable[..., Awaitable[GraphQLClient]]


@pytest.fixture
def make_client(aiohttp_client: Any, tmp_path: Path, sqlite_template: Path) -> MakeClient:
    """``await make_client(**settings_overrides)``: a live app on its own SQLite copy."""
    counter = iter(range(1000))

    async def make(**overrides: Any) -> GraphQLClient:
        EXECUTOR_CACHE.clear()
        n = next(counter)
        db = tmp_path / f"security-{n}.sqlite3"
        shutil.copy(sqlite_template, db)
        settings = load_settings(
            data_dir=tmp_path / f"data-{n}", database_url=f"sqlite://{db}", **overrides
        )
        return GraphQLClient(await aiohttp_client(create_app(settings)))

    return make
