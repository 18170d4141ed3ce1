"""`python -m bench fairness`: fair turns against first in, first out.

Twenty accounts keep a full backlog (NEURALL_MAX_ACTIVE_JOBS_PER_ACCOUNT jobs queued or
running: each submits its next job as soon as one ends), the worker slots are busy, and
then a newcomer submits one job. Figures, for each queue order (NEURALL_QUEUE_ORDER):

- the newcomer's queue wait, as a multiple of one job's run time (goal with fairness:
  at most 1.5; FIFO is reported beside it);
- throughput, jobs finished per second while every slot is busy, fair against FIFO (goal:
  at least 0.97, fairness must not cost throughput).

What runs is the real queue: jobs submitted through ``generation.service`` (credits held,
rows in a SQLite database as `neurall serve` keeps them), messages taken by
``workers.generation.run_job`` (the turn rule's queries, the start transition, the
position announcements, the finish and the charge), ``slots`` of them at a time from a
first-in first-out queue of messages, as the broker hands them out. Only the GPU is a
stand-in: every job "denoises" for ``run_s`` seconds, so the figures measure the queue,
not the pipeline.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from neurall.billing import ledger
from neurall.clones.store import ModelStore
from neurall.config import load_settings
from neurall.generation import service
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.types import GenerationRequest, GenerationResult, StepProgress
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.orm.jobs import Job, JobSource
from neurall.storage import make_storage
from neurall.workers.generation import run_job

ACCOUNTS = 20
# A 1x1 PNG: the stand-in's image (the job's storage write stays real).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class TimedBackend:
    """The stand-in GPU: ``run_s`` seconds per job, in ``steps`` progress steps."""

    def __init__(self, run_s: float) -> None:
        self.run_s = run_s

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def model_states(self) -> dict[str, str]:
        return {}

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncIterator[StepProgress | GenerationResult]:
        for step in range(1, request.steps + 1):
            await asyncio.sleep(self.run_s / request.steps)
            yield StepProgress(step, request.steps)
        yield GenerationResult(images=[PNG] * request.num_images)


async def _scenario(order: str, slots: int, run_s: float, busy_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings = load_settings(
            data_dir=data,
            database_url=f"sqlite://{data / 'bench.sqlite3'}",
            queue_order=order,
        )
        await database.migrate(settings.database_url)
        storage = make_storage(settings)
        runtime = GenerationRuntime(
            settings,
            bus=_bus(),
            payloads=_payloads(),
            storage=storage,
            models=ModelStore(storage),
            inference_factory=lambda: TimedBackend(run_s),  # type: ignore[arg-type, return-value]
        )
        messages: asyncio.Queue[uuid.UUID] = asyncio.Queue()

        async def enqueue(job_id: uuid.UUID) -> None:
            await messages.put(job_id)

        runtime.set_enqueue(enqueue)
        await runtime.start()
        try:
            async with database.database(settings.database_url):
                return await _run(runtime, messages, slots, run_s, busy_s)
        finally:
            await runtime.close()


def _bus() -> Any:
    from neurall.bus.events import JobEventData, MemoryEventBus

    return MemoryEventBus[JobEventData]()


def _payloads() -> Any:
    from neurall.storage.payloads import MemoryPayloadStore

    return MemoryPayloadStore()


async def _run(
    runtime: GenerationRuntime,
    messages: asyncio.Queue[uuid.UUID],
    slots: int,
    run_s: float,
    busy_s: float,
) -> dict[str, Any]:
    settings = runtime.settings
    params = validate({"prompt": "bench", "steps": 4, "seed": 1}, settings)
    backlog = settings.max_active_jobs_per_account
    accounts = []
    for n in range(ACCOUNTS + 1):
        account = await Account.create(email=f"bench{n}@example.com")
        await ledger.grant(account.id, 1_000_000, "bench", f"grant:{account.id}")
        accounts.append(account)
    busy, newcomer = accounts[:ACCOUNTS], accounts[ACCOUNTS]
    refill = True

    async def submit(account: Account) -> Job:
        return await service.submit(account, JobSource.API, params, runtime)

    for _ in range(backlog):
        for account in busy:
            await submit(account)
    owners = {a.id: a for a in busy}
    finished: list[float] = []
    refills: set[asyncio.Task[Job]] = set()

    stopping = False

    async def slot(n: int) -> None:
        while not stopping:
            job_id = await messages.get()
            message_id = f"{n}-{uuid.uuid4().hex}"
            await run_job(str(job_id), runtime, message_id=message_id)
            ran = await Job.get_or_none(started_by=message_id)
            if ran is None:
                continue  # a spare turn: nothing waited
            finished.append(time.monotonic())
            if refill and ran.account_id in owners:
                # The account keeps its backlog full: its next job as soon as one ends,
                # sent by its client, not by the slot (which takes its next turn now).
                refills.add(asyncio.create_task(submit(owners[ran.account_id])))

    workers = [asyncio.create_task(slot(n)) for n in range(slots)]
    try:
        # Every slot busy, the backlog full, and every account has had two turns: the
        # steady state the newcomer meets.
        while len(finished) < 2 * ACCOUNTS:  # noqa: ASYNC110 - a bench's coarse wait
            await asyncio.sleep(run_s / 4)
        job = await submit(newcomer)
        while (await Job.get(id=job.id)).started_at is None:  # noqa: ASYNC110
            await asyncio.sleep(run_s / 20)
        started = await Job.get(id=job.id)
        assert started.started_at is not None
        wait_s = (started.started_at - started.created_at).total_seconds()
        # Throughput over the same window for both orders, every slot busy, after the
        # newcomer's start (under FIFO that came a minute later: the window must not
        # shrink by it).
        window_start = len(finished)
        t0 = time.monotonic()
        await asyncio.sleep(busy_s)
        done = len(finished) - window_start
        throughput = done / (time.monotonic() - t0)
    finally:
        # Stopped between jobs, never cancelled inside one: a task cancelled within a
        # SQLite transaction can leave the connection's lock taken, and the database's
        # close then waits forever. A slot ends after its job; one waiting for a message
        # holds nothing and is cancelled.
        refill, stopping = False, True
        await asyncio.gather(*refills, return_exceptions=True)
        _, idle = await asyncio.wait(workers, timeout=30 * run_s + 10)
        for task in idle:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return {
        "newcomer_wait_s": wait_s,
        "newcomer_wait_runs": wait_s / run_s,
        "jobs_per_s": throughput,
        "ideal_jobs_per_s": slots / run_s,
    }


def run(quick: bool) -> dict[str, Any]:
    """Both orders, ``repeats`` times each, alternating; medians."""
    # Half a second a job: shorter than any real GPU job (seconds), so the queue's own
    # cost weighs more here than it would in service.
    slots, run_s = 4, 0.5
    repeats, busy_s = 3, 20.0
    if quick:
        # The code path only (the smoke test): FIFO's newcomer alone would wait 40 s.
        run_s, repeats, busy_s = 0.1, 1, 1.0
    results: dict[str, list[dict[str, Any]]] = {"fair": [], "fifo": []}
    for _ in range(repeats):
        for order in ("fair", "fifo"):
            results[order].append(asyncio.run(_scenario(order, slots, run_s, busy_s)))

    def median(order: str, key: str) -> float:
        return statistics.median(r[key] for r in results[order])

    fair_wait = median("fair", "newcomer_wait_runs")
    fifo_wait = median("fifo", "newcomer_wait_runs")
    fair_rate, fifo_rate = median("fair", "jobs_per_s"), median("fifo", "jobs_per_s")
    return {
        "params": {
            "accounts": ACCOUNTS,
            "backlog_per_account": 16,
            "slots": slots,
            "run_s": run_s,
            "repeats": repeats,
        },
        "runs": results,
        "fair": {"newcomer_wait_runs": fair_wait, "jobs_per_s": fair_rate},
        "fifo": {"newcomer_wait_runs": fifo_wait, "jobs_per_s": fifo_rate},
        "throughput_ratio": fair_rate / fifo_rate if fifo_rate else 0.0,
    }
