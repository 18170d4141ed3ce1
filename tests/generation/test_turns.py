"""The queue's rule (neurall.generation.turns) and a message's turn in the worker: the
position formula against the literal rule, each lane's cap, a message handled again
taking over the run it started, and a turn left over finding nothing to do."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from neurall.bus.events import EventType
from neurall.errors import RateLimitedError
from neurall.generation import service, turns
from neurall.generation.lifecycle import transition
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.jobs import Job, JobPriority, JobSource, JobStatus
from neurall.workers.generation import run_job
from tests.support.factories import make_account
from tests.support.runtime import generation_settings, held_runtime


def _lane(seed: int) -> dict[uuid.UUID, turns.Account]:
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    accounts = {}
    for n in range(rng.randint(1, 8)):
        account_id = uuid.UUID(int=n + 1)
        started = rng.choice([0, 0, 1, 2, 5])
        last = base + timedelta(seconds=rng.randint(0, 50)) if started else None
        oldest = base + timedelta(seconds=rng.randint(0, 50))
        accounts[account_id] = turns.Account(
            account_id, rng.randint(1, 6), oldest, started=started, last=last
        )
    return accounts


def test_each_position_is_where_the_rule_starts_the_job():
    for seed in range(300):  # random lanes: counts, last starts and backlogs
        accounts = _lane(seed)
        order = turns.simulate(accounts, limit=10_000)
        assert len(order) == sum(a.queued for a in accounts.values())
        for position, (account_id, k) in enumerate(order):
            assert turns.fair_position(accounts, account_id, k) == position, seed


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str, tiny_models: Path) -> AsyncIterator:
    settings = generation_settings(
        tmp_path / "data",
        database_url,
        tiny_models,
        max_active_jobs_per_account=2,
        max_batch_jobs_per_account=3,
    )
    async with held_runtime(settings) as runtime:
        yield runtime


async def _submit(runtime: GenerationRuntime, account, priority=JobPriority.STANDARD) -> Job:
    params = validate({"prompt": "a kite", "steps": 1, "seed": 3}, runtime.settings)
    return await service.submit(account, JobSource.PLAYGROUND, params, runtime, priority=priority)


async def test_each_lane_has_its_cap(runtime: GenerationRuntime):
    account = await make_account()
    for _ in range(2):
        await _submit(runtime, account)
    with pytest.raises(RateLimitedError):
        await _submit(runtime, account)
    for _ in range(3):
        await _submit(runtime, account, JobPriority.BATCH)
    with pytest.raises(RateLimitedError, match="3 BATCH jobs"):
        await _submit(runtime, account, JobPriority.BATCH)


async def test_a_message_handled_again_takes_over_its_run_and_a_spare_turn_is_dropped(
    runtime: GenerationRuntime,
):
    a, b = await make_account(), await make_account()
    first = await _submit(runtime, a)
    second = await _submit(runtime, b)
    # The message for ``second`` started ``first`` (its account waited longest), then its
    # worker died: the run is RUNNING, with no one working on it.
    assert (await turns.next_job()).id == first.id
    await transition(
        first.id,
        EventType.STARTED,
        allowed_from=[JobStatus.QUEUED],
        updates={"status": JobStatus.RUNNING, "started_by": "m-1", "attempts": 1},
    )
    # The same message again (redelivered): it starts that run over, not another job.
    await run_job(str(second.id), runtime, message_id="m-1")
    done = await Job.get(id=first.id)
    assert (done.status, done.attempts) == (JobStatus.SUCCEEDED, 2)
    assert (await Job.get(id=second.id)).status == JobStatus.QUEUED
    # Once more after that run ended (a crash before the acknowledgement): its turn was
    # taken, so it starts nothing.
    await run_job(str(second.id), runtime, message_id="m-1")
    assert (await Job.get(id=second.id)).status == JobStatus.QUEUED
    # Another message takes the next turn; a spare copy finds nothing and is dropped.
    await run_job(str(first.id), runtime, message_id="m-2")
    await run_job(str(second.id), runtime, message_id="m-3")
    ended = [await Job.get(id=j.id) for j in (first, second)]
    assert [(j.status, j.attempts) for j in ended] == [
        (JobStatus.SUCCEEDED, 2),
        (JobStatus.SUCCEEDED, 1),
    ]
    assert ended[1].started_by == "m-2"
