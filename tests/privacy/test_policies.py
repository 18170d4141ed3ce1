"""The storage sweeps: abandoned uploads and orphaned blobs go; live files stay."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import pytest

from neurall.app import create_app
from neurall.orm.accounts import Account, Session
from neurall.orm.clones import Clone, CloneStatus
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.retention.sweeper import POLICIES, run_policies
from neurall.storage import make_storage
from tests.support.files import files_under
from tests.support.poll import until
from tests.support.runtime import generation_settings

pytestmark = pytest.mark.usefixtures("database_url")


def test_issue_5_policies_are_registered():
    names = {p.name for p in POLICIES}
    assert names >= {
        "expired-api-results",
        "usage-logs",
        "expired-exports",
        "abandoned-uploads",
        "orphaned-blobs",
        "expired-sessions",
    }


async def test_abandoned_uploads_and_orphaned_blobs(client, settings):
    storage = make_storage(settings)
    account = await Account.create(email="ada@example.com")
    job = await Job.create(
        account_id=account.id, source=JobSource.PLAYGROUND, status=JobStatus.SUCCEEDED,
        total_steps=1, num_images=1,
    )  # fmt: skip
    await JobImage.create(
        job_id=job.id, index=0, storage_key=f"images/{job.id}/0.png", width=8, height=8, seed=1
    )
    keep = [f"images/{job.id}/0.png"]
    orphan = [f"images/{uuid.uuid4()}/0.png", f"exports/{uuid.uuid4()}.zip"]
    upload = [f"uploads/clones/{uuid.uuid4()}/0.png", "uploads/other/x.bin"]
    fresh = [f"uploads/clones/{uuid.uuid4()}/1.png", f"images/{uuid.uuid4()}/1.png"]
    training = await Clone.create(
        account_id=account.id, name="c", trigger_word="t", status=CloneStatus.TRAINING,
        image_count=3, total_steps=10,
    )  # fmt: skip
    keep.append(f"uploads/clones/{training.id}/0.png")
    for key in keep + orphan + upload + fresh:
        await storage.put(key, b"data")
    old = time.time() - max(settings.abandoned_upload_ttl_s, settings.generation_time_limit_s) - 60
    for key in keep + orphan + upload:
        os.utime(settings.storage_dir / key, (old, old))

    removed = await run_policies(settings, make_storage(settings), now=datetime.now(UTC))
    assert removed["abandoned-uploads"] == 2
    assert removed["orphaned-blobs"] == 2
    left = {str(p.relative_to(settings.storage_dir)) for p in files_under(settings.storage_dir)}
    assert left == set(keep + fresh)


async def test_embedded_serve_runs_the_sweep_periodically(
    aiohttp_client, tmp_path, database_url, tiny_models
):
    settings = generation_settings(
        tmp_path / "data", database_url, tiny_models, retention_interval_s=1
    )
    await aiohttp_client(create_app(settings))
    account = await Account.create(email="ada@example.com")
    now = datetime.now(UTC)
    await Session.create(account=account, token_hash="a" * 64, expires_at=now, last_seen_at=now)
    # The maintenance actor runs within a few intervals.
    await until(Session.exists, lambda left: not left, within=40, what="the session's deletion")
