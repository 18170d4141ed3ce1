"""Deletes reach the store, on both storages: the retention sweeps (listing by prefix, batch
deletes, ages from the store's own timestamps) and account erasure leave exactly what must
stay, checked by listing the store itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from neurall.clones.store import ModelStore
from neurall.config import Settings, load_settings
from neurall.generation.runtime import GenerationRuntime
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.orm.clones import Clone, CloneStatus
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.orm.privacy import DataExport, ExportStatus
from neurall.privacy.erasure import erase_account
from neurall.retention.sweeper import run_policies
from neurall.storage import Storage, make_storage
from tests.support.poll import until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TTL_S = 3600


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    extra: dict[str, object] = {}
    if request.param == "s3":
        extra["storage_url"] = request.getfixturevalue("s3_bucket").url
    # One age for every sweep of stored objects, so one "now" sorts them all.
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        abandoned_upload_ttl_s=TTL_S,
        generation_time_limit_s=TTL_S,
        **extra,
    )


@pytest.fixture
async def storage(settings: Settings) -> AsyncIterator[Storage]:
    store = make_storage(settings)
    async with database.database(settings.database_url):
        yield store
    await store.close()


async def _everything(storage: Storage) -> set[str]:
    prefixes = ("images", "exports", "uploads", "adapters")
    return {o.key for p in prefixes for o in await storage.list_objects(p)}


async def _job_image(account: Account, *, expires_at: datetime | None = None) -> str:
    job = await Job.create(
        account_id=account.id, source=JobSource.API, status=JobStatus.SUCCEEDED,
        total_steps=1, num_images=1,
    )  # fmt: skip
    key = f"images/{job.id}/0.png"
    await JobImage.create(
        job_id=job.id, index=0, storage_key=key, width=8, height=8, seed=1, expires_at=expires_at
    )
    return key


async def _clone(account: Account, status: CloneStatus) -> Clone:
    return await Clone.create(
        account_id=account.id, name="c", trigger_word="t", status=status, image_count=1,
        total_steps=1, adapter_key=None,
    )  # fmt: skip


async def _clock_past(moment: datetime) -> datetime:
    """Now, once the clock in whole seconds (a store's precision) is past ``moment``."""
    return await until(
        lambda: datetime.now(UTC),
        lambda now: now.replace(microsecond=0) > moment,
        within=5,
        every=0.05,
        what=f"the clock passing {moment}",
    )


async def test_the_sweeps_delete_from_the_store(settings: Settings, storage: Storage):
    account = await Account.create(email="ada@example.com")
    expired = await _job_image(account, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    kept_image = await _job_image(account)
    training = await _clone(account, CloneStatus.TRAINING)
    ready = await _clone(account, CloneStatus.READY)
    failed = await _clone(account, CloneStatus.FAILED)
    export = await DataExport.create(
        account_id=account.id, status=ExportStatus.READY, storage_key=f"exports/{uuid.uuid4()}.zip"
    )
    keep = {
        kept_image,
        export.storage_key,
        f"uploads/clones/{training.id}/0.png",  # its clone still trains
        f"adapters/{ready.id}.safetensors",  # its clone exists
    }
    old_garbage = {
        expired,
        f"images/{uuid.uuid4()}/0.png",  # no row
        f"exports/{uuid.uuid4()}.zip",  # no export
        f"uploads/clones/{failed.id}/0.png",  # training ended
        f"adapters/{uuid.uuid4()}.safetensors",  # the clone is gone
    }
    for key in keep | old_garbage:
        await storage.put(key, b"blob")
    # The sweeps judge age by the store's own timestamps (whole seconds on S3): ``middle``
    # comes after every object stored so far, and the fresh ones come after ``middle``.
    stored = [o for top in ("images/", "exports/", "uploads/", "adapters/")
              for o in await storage.list_objects(top)]  # fmt: skip
    middle = await _clock_past(max(stored_object.modified_at for stored_object in stored))
    await _clock_past(middle)
    fresh = {f"images/{uuid.uuid4()}/0.png", f"uploads/clones/{failed.id}/1.png"}
    for key in fresh:
        await storage.put(key, b"blob")

    removed = await run_policies(settings, storage, now=middle + timedelta(seconds=TTL_S))
    assert removed["expired-api-results"] == 1
    assert removed["abandoned-uploads"] == 1
    assert removed["orphaned-blobs"] == 3
    assert await _everything(storage) == keep | fresh


async def test_erasure_deletes_every_object_of_the_account(settings: Settings, storage: Storage):
    ours = await Account.create(email="ada@example.com")
    theirs = await Account.create(email="bob@example.com")
    runtime = GenerationRuntime.from_settings(settings, storage, ModelStore(storage))
    keys = {}
    for account in (ours, theirs):
        clone = await _clone(account, CloneStatus.READY)
        await Clone.filter(id=clone.id).update(adapter_key=ModelStore.key_for(clone.id))
        export = await DataExport.create(
            account_id=account.id, status=ExportStatus.READY,
            storage_key=f"exports/{uuid.uuid4()}.zip",
        )  # fmt: skip
        keys[account.id] = {
            await _job_image(account),
            await _job_image(account),
            f"adapters/{clone.id}.safetensors",
            f"uploads/clones/{clone.id}/0.png",
            export.storage_key,
        }
        for key in keys[account.id]:
            await storage.put(key, b"personal")
    assert await _everything(storage) == keys[ours.id] | keys[theirs.id]
    await erase_account(ours, runtime)
    assert await _everything(storage) == keys[theirs.id]
