"""Fixtures for cloning: fast training settings on the tiny model, and a clone runtime on an
open database for driving the actor body directly. The tiny model, the Triton server and
the distributed stack are tests/support/fixtures.py's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore
from neurall.config import Settings
from neurall.orm import database
from neurall.storage import make_storage
from tests.support.clones import FAST_TRAINING
from tests.support.runtime import generation_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str, model_cache_dir: Path) -> Settings:
    return generation_settings(tmp_path / "data", database_url, model_cache_dir, **FAST_TRAINING)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[CloneRuntime]:
    """An open database and a clone runtime whose queue only records what was sent."""
    context = await database.open_database(settings.database_url)
    storage = make_storage(settings)
    clones = CloneRuntime.from_settings(settings, storage, ModelStore(storage))
    queued: list[uuid.UUID] = []

    async def enqueue(clone_id: uuid.UUID) -> None:
        queued.append(clone_id)

    clones.set_enqueue(enqueue)
    clones.queued = queued  # type: ignore[attr-defined]
    await clones.start()
    try:
        yield clones
    finally:
        await clones.close()
        await database.close_database(context)
