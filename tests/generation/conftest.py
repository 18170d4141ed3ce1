"""Fixtures for generation: the tiny model built once, settings that use it, fast retries."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neurall.clones.store import ModelStore
from neurall.config import Settings, load_settings
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.tiny import build_tiny_pipeline
from neurall.orm import database
from neurall.storage import make_storage


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding the built-in tiny pipeline (what `neurall serve` builds)."""
    models = tmp_path_factory.mktemp("models")
    build_tiny_pipeline(models / "tiny-sd")
    return models


def generation_settings(data_dir: Path, database_url: str, models: Path, **kw: object) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    link = data_dir / "models"
    if not link.exists():
        link.symlink_to(models, target_is_directory=True)
    base: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "generation_min_backoff_ms": 100,
        "generation_max_backoff_ms": 200,
        "generation_max_retries": 2,
        "embedded_worker_threads": 1,
    }
    base.update(kw)
    return load_settings(**base)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(tmp_path / "data", database_url, tiny_models)


@contextlib.asynccontextmanager
async def held_runtime(settings: Settings) -> AsyncIterator[GenerationRuntime]:
    """A started runtime (and its database) whose queue holds each job until the test runs
    it with ``run_job``."""
    storage = make_storage(settings)
    runtime = GenerationRuntime.from_settings(settings, storage, ModelStore(storage))

    async def hold(_job_id: uuid.UUID) -> None:
        return None

    runtime.set_enqueue(hold)
    await runtime.start()
    try:
        async with database.database(settings.database_url):
            yield runtime
    finally:
        await runtime.close()
