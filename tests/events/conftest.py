"""Fixtures for the domain-event tests: an open database on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from neurall.orm import database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """Tortoise opened on each backend for relay-level tests (no HTTP, no broker)."""
    async with database.database(database_url):
        yield database_url
