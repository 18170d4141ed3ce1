"""What a job is told to expect when it starts: every step at the last pace of its model at
its size, after the model's load when the model is not loaded (a memory budget that holds
one model at a time unloads it)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from neurall.billing import ledger
from neurall.bus.events import EventType, JobEventData
from neurall.generation import model_states, progress, service
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.accounts import Account
from neurall.orm.jobs import JobSource
from neurall.workers.generation import run_job
from tests.support.runtime import generation_settings, held_runtime

STEPS = 3
# A size of this test's own: the pace is kept per model and size, and other tests in this
# process may have run tiny-sd at theirs.
SIZE = 72


async def _started(runtime: GenerationRuntime, account: Account, model: str) -> JobEventData:
    """Run one job on ``model`` to its end; its STARTED event."""
    params = validate(
        {"prompt": "a kettle", "model": model, "steps": STEPS, "width": SIZE, "height": SIZE},
        runtime.settings,
    )
    job = await service.submit(account, JobSource.PLAYGROUND, params, runtime)
    async with runtime.bus.subscribe(job.id) as events:
        await run_job(str(job.id), runtime)
        # What the worker asks in the background after each job, asked before the next.
        await model_states.refresh(runtime)
        seen = [await asyncio.wait_for(anext(events), 10)]
        while not seen[-1].terminal:
            seen.append(await asyncio.wait_for(anext(events), 10))
    assert seen[-1].status == "SUCCEEDED", seen[-1]
    return next(event for event in seen if event.type == EventType.STARTED)


async def test_a_job_for_a_model_that_is_not_loaded_is_told_its_load_time(
    tmp_path, database_url, tiny_models
):
    # A budget smaller than any model: loading one unloads the other.
    settings = generation_settings(
        tmp_path / "data", database_url, tiny_models, gpu_memory_budget_mb=0.001
    )
    async with held_runtime(settings) as runtime:
        account = await Account.create(email=f"{uuid.uuid4().hex[:8]}@example.com")
        await ledger.grant(account.id, 1000, "test", f"grant:{account.id}")
        await _started(runtime, account, "tiny-sd")
        await _started(runtime, account, "tiny-sdxl")  # tiny-sd is unloaded
        pool = runtime.started_inference().pool  # type: ignore[union-attr]
        load = pool.load_seconds()
        assert set(load) == {"tiny-sd", "tiny-sdxl"}
        shape = ("tiny-sd", SIZE, SIZE, 1)
        pace = progress.step_seconds(shape)
        cold = await _started(runtime, account, "tiny-sd")
        warm_pace = progress.step_seconds(shape)
        warm = await _started(runtime, account, "tiny-sd")
    assert pace is not None
    assert warm_pace is not None
    # Not loaded: the start waits for its load, then every step at the pace measured last.
    assert cold.eta_seconds == pytest.approx(load["tiny-sd"] + STEPS * pace)
    # Loaded: every step at the pace measured last.
    assert warm.eta_seconds == pytest.approx(STEPS * warm_pace)
