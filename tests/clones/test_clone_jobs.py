"""A job queued with a clone that is deleted before the job runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neurall.billing import ledger
from neurall.generation import service
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.accounts import Account
from neurall.orm.clones import Clone
from neurall.orm.jobs import Job, JobSource, JobStatus
from neurall.workers.generation import run_job
from tests.support.factories import ready_clone_row
from tests.support.runtime import generation_settings, held_runtime


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, tiny_models: Path
) -> AsyncIterator[GenerationRuntime]:
    """A runtime whose queue holds the job until the test runs it."""
    settings = generation_settings(tmp_path / "data", database_url, tiny_models)
    async with held_runtime(settings) as runtime:
        yield runtime


async def test_clone_deleted_before_the_job_runs_fails_it_and_refunds(runtime):
    account = await Account.create(email="clone-owner@example.com", password_hash="x")
    await ledger.grant(account.id, 1000, "test", "grant:clone-owner")
    clone = await ready_clone_row(
        account.id, name="Ada", trigger_word="sks", adapter_key="gone.safetensors"
    )
    params = validate(
        {"prompt": "a photo of sks", "steps": 2, "clone_id": str(clone.id)}, runtime.settings
    )
    job = await service.submit(account, JobSource.PLAYGROUND, params, runtime)
    await Clone.filter(id=clone.id).delete()

    await run_job(str(job.id), runtime)

    ended = await Job.get(id=job.id)
    assert ended.status == JobStatus.FAILED
    assert ended.error == "The clone this job uses no longer exists."
    assert await ledger.entry_totals(account.id) == (1000, 0)  # nothing charged or held
