"""Settings and runtimes for tests that generate in-process with the tiny model."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from neurall.clones.store import ModelStore
from neurall.config import Settings, load_settings
from neurall.generation.runtime import GenerationRuntime
from neurall.orm import database
from neurall.storage import make_storage


def generation_settings(data_dir: Path, database_url: str, models: Path, **kw: object) -> Settings:
    """Settings on ``database_url`` whose data directory links ``models`` (the tiny model),
    with fast retries and one embedded worker thread; ``kw`` overrides."""
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
