"""The reaper: no job stays without a worker, no credit stays held for nothing.

Every worker process (and an embedded `neurall serve`) runs ``reap`` every
NEURALL_REAPER_INTERVAL_S on its own loop, beside the broker rather than through it, so
it works while RabbitMQ is down; the maintenance actor runs it too. Each pass:

1. takes over RUNNING jobs whose lease expired (see neurall.generation.lease): queued
   again while attempts remain and the request still exists, else failed and refunded in
   full (the service failed them; nothing is charged for their steps);
2. sends the messages of jobs accepted while the broker was down (``dispatch_pending``);
3. deletes API payloads that an outage kept from being deleted when their job ended
   (``payload_orphaned``), so the privacy promise holds after the outage.

Several processes may reap at once: every change is a guarded transition (the attempt
and the status are checked under the row lock), so a job is handed on or failed once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from neurall.clock import now
from neurall.generation import service
from neurall.generation.lifecycle import requeue
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.jobs import Job, JobStatus
from neurall.outages import is_outage

log = logging.getLogger(__name__)

GAVE_UP = "The job was interrupted and could not be completed; nothing was charged."
# Jobs handled per kind and pass: a backlog after a long outage drains over a few passes.
BATCH = 200


@dataclass
class Reaped:
    requeued: int = 0
    failed: int = 0
    dispatched: int = 0
    payloads: int = 0


async def reap(runtime: GenerationRuntime) -> Reaped:
    reaped = Reaped()
    await _expired_leases(runtime, reaped)
    await _pending_dispatches(runtime, reaped)
    await _orphaned_payloads(runtime, reaped)
    if reaped != Reaped():
        log.info("reaper: %s", reaped)
    return reaped


async def _expired_leases(runtime: GenerationRuntime, reaped: Reaped) -> None:
    expired = await Job.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now()).limit(BATCH)
    for job in expired:
        try:
            await _take_over(job, runtime, reaped)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # An API job's request is on the broker: it waits for the broker to come back.
            log.warning("reaper: job %s waits (%s)", job.id, type(exc).__name__)


async def _take_over(job: Job, runtime: GenerationRuntime, reaped: Reaped) -> None:
    attempts_left = job.attempts <= runtime.settings.generation_max_retries
    if not (attempts_left and await _has_request(job, runtime)):
        if await service.fail(job.id, GAVE_UP, runtime, job.attempts) is not None:
            reaped.failed += 1
        return
    moved = await requeue(job.id, job.attempts)
    if moved is not None:
        reaped.requeued += 1
        await runtime.bus.publish(moved[1])
        await _dispatch(moved[0], runtime)


async def _has_request(job: Job, runtime: GenerationRuntime) -> bool:
    if not service.holds_payload(job):
        return job.params is not None
    return await runtime.payloads.get(job.id) is not None


async def _dispatch(job: Job, runtime: GenerationRuntime) -> bool:
    """Send the job's message, or leave it marked for the next pass."""
    try:
        await runtime.enqueue(job.id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        await Job.filter(id=job.id).update(dispatch_pending=True)
        return False
    if job.dispatch_pending:
        await Job.filter(id=job.id).update(dispatch_pending=False)
    return True


async def _pending_dispatches(runtime: GenerationRuntime, reaped: Reaped) -> None:
    waiting = await Job.filter(status=JobStatus.QUEUED, dispatch_pending=True).limit(BATCH)
    for job in waiting:
        if not await _dispatch(job, runtime):
            return  # the broker is still down
        reaped.dispatched += 1


async def _orphaned_payloads(runtime: GenerationRuntime, reaped: Reaped) -> None:
    for job in await Job.filter(payload_orphaned=True).limit(BATCH):
        try:
            await runtime.payloads.delete(job.id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            return  # the broker is still down
        await Job.filter(id=job.id).update(payload_orphaned=False)
        reaped.payloads += 1


async def reap_forever(runtime: GenerationRuntime, interval_s: float) -> None:
    """Reap every ``interval_s`` until cancelled; an outage only skips a pass."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await reap(runtime)
        except Exception as exc:
            if is_outage(exc):
                log.warning("reaper: skipped a pass (%s)", type(exc).__name__)
            else:
                log.exception("reaper: pass failed")
