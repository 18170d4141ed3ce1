"""The safety checker as jobs see it: withheld images are not charged, a job whose every
image was withheld fails with a clear message, and flagged images are marked for the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neurall.billing import ledger
from neurall.generation import service
from neurall.generation.lifecycle import snapshot
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.pipeline import Pipeline
from neurall.orm.accounts import Account
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.workers.generation import WITHHELD, run_job
from tests.support.gpu import build_safety_checker, make_request
from tests.support.runtime import generation_settings, held_runtime

PROMPT = "a lighthouse at dusk"
SEED = 1000
# One credit per image (the least an image costs), so what is charged per image shows; the
# checker is built from the images of these very parameters (image 0 flagged, 1 not).
SIZE, STEPS = 512, 1


@pytest.fixture(scope="module")
def checker_dir(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pipeline = Pipeline.load("tiny", tiny_models, device="cpu")
    request = make_request(
        prompt=PROMPT, seed=SEED, num_images=2, width=SIZE, height=SIZE, steps=STEPS
    )
    images = pipeline.run([request])[0].images
    return build_safety_checker(tmp_path_factory.mktemp("checker"), *images)


@pytest.fixture(params=["drop", "flag"])
async def runtime(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    tiny_models: Path,
    checker_dir: Path,
) -> AsyncIterator[GenerationRuntime]:
    """A runtime with the checker and the policy ``request.param``; its queue holds the job
    until the test runs it."""
    settings = generation_settings(
        tmp_path / "data",
        database_url,
        tiny_models,
        safety_checker=str(checker_dir),
        safety_policy=request.param,
    )
    async with held_runtime(settings) as runtime:
        yield runtime


async def _run(runtime: GenerationRuntime, num_images: int) -> tuple[Account, Job]:
    account = await Account.create(email=f"{uuid.uuid4().hex[:8]}@example.com")
    await ledger.grant(account.id, 100, "test", f"grant:{account.id}")
    sent = {"prompt": PROMPT, "seed": SEED, "num_images": num_images}
    sent |= {"width": SIZE, "height": SIZE, "steps": STEPS}
    params = validate(sent, runtime.settings)
    job = await service.submit(account, JobSource.PLAYGROUND, params, runtime)
    await run_job(str(job.id), runtime)
    return account, await Job.get(id=job.id)


async def test_flagged_images_follow_the_policy_and_only_delivered_ones_are_charged(runtime):
    account, job = await _run(runtime, num_images=2)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.held_credits == 2
    images = await JobImage.filter(job_id=job.id).order_by("index")
    stored = [(i.index, i.seed, i.flagged) for i in images]
    # What the API shows (Image.seed, Image.flagged).
    shown = [(ref.seed, ref.flagged) for ref in (await snapshot(job)).images]
    if runtime.settings.safety_policy == "drop":
        assert stored == [(1, SEED + 1, False)]
        assert shown == [(SEED + 1, False)]
        assert job.cost_credits == 1
    else:
        assert stored == [(0, SEED, True), (1, SEED + 1, False)]
        assert shown == [(SEED, True), (SEED + 1, False)]
        assert job.cost_credits == 2
    assert await ledger.entry_totals(account.id) == (100 - job.cost_credits, 0)


@pytest.mark.parametrize("runtime", ["drop"], indirect=True)
async def test_a_job_whose_every_image_is_withheld_fails_uncharged(runtime):
    account, job = await _run(runtime, num_images=1)
    assert job.status == JobStatus.FAILED
    assert job.error == WITHHELD
    assert job.cost_credits == 0
    assert await ledger.entry_totals(account.id) == (100, 0)
    assert not await JobImage.filter(job_id=job.id).exists()
