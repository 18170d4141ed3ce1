"""The domain's rule for serving results (neurall.generation.results), without HTTP: any
interface that hands out image bytes gets it. An API image goes once its delivery is
reported whole, and stays after one that was not; a playground image stays; nobody but
the owner, and nobody after the TTL, is handed anything."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from neurall.accounts.viewer import Viewer
from neurall.clock import now
from neurall.config import load_settings
from neurall.generation.results import ResultImage, serve_image
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.storage import Storage, make_storage
from tests.support.factories import make_account

# A filter and a delete by id: SQLite is enough.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def storage(tmp_path: Path, database_url: str) -> AsyncIterator[Storage]:
    async with database.database(database_url):
        yield make_storage(load_settings(data_dir=tmp_path / "data", database_url=database_url))


async def _image(storage: Storage, account: Account, *, expires_in: timedelta | None) -> JobImage:
    job = await Job.create(
        account_id=account.id,
        source=JobSource.PLAYGROUND if expires_in is None else JobSource.API,
        status=JobStatus.SUCCEEDED, total_steps=1, num_images=1,
    )  # fmt: skip
    key = f"images/{job.id}/0.png"
    await storage.put(key, b"png")
    return await JobImage.create(
        job_id=job.id, index=0, storage_key=key, width=8, height=8, seed=1,
        expires_at=None if expires_in is None else now() + expires_in,
    )  # fmt: skip


def _deliverer(*outcomes: bool):
    """A deliver callback that reports ``outcomes`` in turn and records what it was handed."""
    handed: list[ResultImage] = []
    answers = iter(outcomes)

    async def deliver(image: ResultImage) -> bool:
        handed.append(image)
        return next(answers)

    return deliver, handed


async def test_an_api_image_goes_once_delivered_whole(storage: Storage):
    owner = Viewer(account=await make_account(0))
    image = await _image(storage, owner.account, expires_in=timedelta(minutes=15))
    deliver, handed = _deliverer(False, True)

    assert await serve_image(owner, image.id, storage, deliver) is False  # not whole
    assert await JobImage.exists(id=image.id)
    assert await serve_image(owner, image.id, storage, deliver) is True
    assert [(h.id, h.ephemeral) for h in handed] == [(image.id, True)] * 2
    assert not await JobImage.exists(id=image.id)
    assert await storage.stat(image.storage_key) is None
    assert await serve_image(owner, image.id, storage, deliver) is False
    assert len(handed) == 2  # nothing left to hand over


async def test_a_fetch_while_an_api_image_goes_out_finds_nothing(storage: Storage):
    """A client that has every byte may ask again before the server is done with the first
    answer: that request finds nothing. A delivery that fails puts the image back."""
    owner = Viewer(account=await make_account(0))
    image = await _image(storage, owner.account, expires_in=timedelta(minutes=15))
    meanwhile: list[bool] = []

    async def deliver_and_ask_again(_: ResultImage) -> bool:
        meanwhile.append(await serve_image(owner, image.id, storage, _deliverer(True)[0]))
        return outcome

    outcome = False
    assert await serve_image(owner, image.id, storage, deliver_and_ask_again) is False
    assert await JobImage.exists(id=image.id)
    outcome = True
    assert await serve_image(owner, image.id, storage, deliver_and_ask_again) is True
    assert meanwhile == [False, False]
    assert not await JobImage.exists(id=image.id)
    assert await storage.stat(image.storage_key) is None


async def test_only_the_owner_gets_an_unexpired_image_and_playground_images_stay(
    storage: Storage,
):
    owner = Viewer(account=await make_account(0))
    other = Viewer(account=await make_account(0))
    kept = await _image(storage, owner.account, expires_in=None)
    expired = await _image(storage, owner.account, expires_in=timedelta(seconds=-1))
    deliver, handed = _deliverer(True, True)

    assert await serve_image(other, kept.id, storage, deliver) is False
    assert await serve_image(owner, expired.id, storage, deliver) is False
    assert await serve_image(owner, uuid.uuid4(), storage, deliver) is False
    assert handed == []
    for _ in range(2):
        assert await serve_image(owner, kept.id, storage, deliver) is True
    assert [h.ephemeral for h in handed] == [False, False]
    assert await storage.stat(kept.storage_key) is not None
