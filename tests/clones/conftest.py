"""Fixtures for cloning: the tiny model and Triton server of tests/gpu, fast training
settings, and a clone runtime on an open database for driving the actor body directly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neurall.billing import ledger
from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore
from neurall.config import Settings
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.storage import make_storage

# Fixtures shared with tests/gpu and tests/generation (the distributed stack and its client).
from tests.generation.conftest import generation_settings
from tests.generation.test_distributed import api, stack  # noqa: F401
from tests.gpu.conftest import model_cache_dir, pipeline, triton_server  # noqa: F401

# Few steps keep the directory fast; the loss test asks for more itself.
FAST_TRAINING: dict[str, object] = {
    "clone_default_training_steps": 4,
    "clone_training_batch_size": 4,
    "embedded_worker_threads": 2,
}


@pytest.fixture(scope="session")
def tiny_models(model_cache_dir: Path) -> Path:  # noqa: F811
    """The distributed stack's models directory: the same tiny model, built once."""
    return model_cache_dir


@pytest.fixture
def settings(tmp_path: Path, database_url: str, model_cache_dir: Path) -> Settings:  # noqa: F811
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


async def make_account(credits: int = 100, email: str | None = None) -> Account:
    account = await Account.create(email=email or f"{uuid.uuid4().hex[:8]}@example.com")
    if credits:
        await ledger.grant(account.id, credits, "test", f"grant:{account.id}")
    return await Account.get(id=account.id)
