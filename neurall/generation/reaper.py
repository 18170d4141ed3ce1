"""The reaper: no job stays without a worker, no credit stays held for nothing.

Every worker process (and an embedded `neurall serve`) runs ``reap`` every
NEURALL_REAPER_INTERVAL_S on its own loop, beside the broker rather than through it, so
it works while RabbitMQ is down; the maintenance actor runs it too. Each pass:

1. takes over RUNNING jobs whose lease expired (see neurall.generation.lease): queued
   again while attempts remain and the request still exists, else failed and refunded in
   full (the service failed them; nothing is charged for their steps);
2. sends the messages of jobs accepted while the broker was down (``dispatch_pending``);
3. sends again the messages that look lost: QUEUED jobs sent longer than
   NEURALL_DISPATCH_TIMEOUT_S ago that no worker has started since (the API process died
   between commit and publish, a publish or a broker lost the message, a queue was
   purged). Only as many as the broker's queue is short of messages for the jobs waiting
   unstarted, oldest first, so a long but healthy queue gets no copies; a copy of a
   message that was not lost after all is dropped by the worker that finds the job
   taken (neurall.workers.generation);
4. deletes API payloads that an outage kept from being deleted when their job ended
   (``payload_orphaned``), so the privacy promise holds after the outage.

Several processes may reap at once: every change is a guarded transition (the attempt
and the status are checked under the row lock), so a job is handed on or failed once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

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
    resent: int = 0
    payloads: int = 0


async def reap(runtime: GenerationRuntime) -> Reaped:
    reaped = Reaped()
    await _expired_leases(runtime, reaped)
    await _pending_dispatches(runtime, reaped)
    await _lost_messages(runtime, reaped)
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
    """Send the job's message (noting when), or leave it marked for the next pass."""
    await Job.filter(id=job.id).update(dispatched_at=now(), received_at=None)
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


async def _lost_messages(runtime: GenerationRuntime, reaped: Reaped) -> None:
    unstarted = Job.filter(status=JobStatus.QUEUED, dispatch_pending=False, received_at=None)
    waiting = await unstarted.count()
    if not waiting:
        return
    depth = await runtime.queue_depth()
    if depth is None or depth >= waiting:
        return
    cutoff = now() - timedelta(seconds=runtime.settings.dispatch_timeout_s)
    overdue = await (
        unstarted.filter(dispatched_at__lt=cutoff)
        .order_by("dispatched_at")
        .limit(min(waiting - depth, BATCH))
        .only("id", "dispatched_at", "dispatch_pending")
    )
    for job in overdue:
        # Claimed by moving its send time: of several reapers, one sends each copy.
        claimed = await Job.filter(
            id=job.id, status=JobStatus.QUEUED, dispatched_at=job.dispatched_at
        ).update(dispatched_at=now())
        if not claimed:
            continue
        if not await _dispatch(job, runtime):
            return  # the broker is down
        log.warning("job %s: its message looks lost; sent again", job.id)
        reaped.resent += 1


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


async def resend_unfinished(runtime: GenerationRuntime) -> int:
    """After a restart of a process whose queue lived in its memory (embedded): every job
    it left QUEUED or RUNNING gets a new message, a RUNNING one put back in the queue
    first (its worker died with the process). Returns how many were sent."""
    sent = 0
    unfinished = await Job.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).order_by(
        "created_at"
    )
    for job in unfinished:
        if job.status == JobStatus.RUNNING:
            moved = await requeue(job.id, job.attempts)
            if moved is None:
                continue
            job = moved[0]
        if await _dispatch(job, runtime):
            sent += 1
    return sent


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
