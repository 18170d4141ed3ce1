"""Submitting, cancelling and reading generation jobs: what GraphQL (and tests) call.

Submission is one transaction: the job row and its credit hold are written together, so a
job never exists without its hold and a hold never without its job. The message that
carries the job to a worker holds only the job id (see neurall.storage.payloads).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from neurall import crash_points
from neurall.billing import ledger, pricing
from neurall.bus.events import EventType
from neurall.clock import now
from neurall.clones.service import require_ready_clones
from neurall.config import Settings
from neurall.errors import ConflictError, NotFoundError, RateLimitedError
from neurall.generation.idempotency import check_same_request
from neurall.generation.lifecycle import announce_positions, event_for, transition
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu import codec
from neurall.gpu.types import TEXT_TO_IMAGE, GenerationRequest
from neurall.ids import parse_id
from neurall.logs import JOB_ID
from neurall.orm.accounts import Account, ApiKey
from neurall.orm.jobs import TERMINAL_STATUSES, Job, JobPriority, JobSource, JobStatus
from neurall.orm.pages import newest_first
from neurall.outages import ServiceUnavailableError, is_outage
from neurall.ratelimit import RateLimit

log = logging.getLogger(__name__)

# What a client over the active-jobs cap is told to wait: about one short job's run time.
ACTIVE_CAP_RETRY_AFTER_S = 5.0


def estimate_cost(
    params: GenerationRequest,
    runtime: GenerationRuntime,
    priority: JobPriority = JobPriority.STANDARD,
) -> int:
    """What the request holds: priced by its model's catalog entry (validated already), at
    the model's BATCH price for a BATCH job."""
    return pricing.model_generation_cost(
        params.width,
        params.height,
        params.steps,
        params.num_images,
        # The clone surcharge is one, however many clones are blended.
        bool(params.adapters),
        runtime.catalog[params.model],
        runtime.pricing,
        batch=priority == JobPriority.BATCH,
    )


async def _existing(account: Account, key: str | None) -> Job | None:
    if key is None:
        return None
    return await Job.get_or_none(account_id=account.id, idempotency_key=key)


@dataclass(frozen=True)
class Submission:
    job: Job
    # True when an idempotent retry returned the job an earlier call made: nothing was
    # held, queued or counted this time.
    replayed: bool


async def submit(
    account: Account,
    source: JobSource,
    params: GenerationRequest,
    runtime: GenerationRuntime,
    *,
    idempotency_key: str | None = None,
    rate_limit: RateLimit | None = None,
    priority: JobPriority = JobPriority.STANDARD,
) -> Job:
    """``submit_request``'s job."""
    submission = await submit_request(
        account,
        source,
        params,
        runtime,
        idempotency_key=idempotency_key,
        rate_limit=rate_limit,
        priority=priority,
    )
    return submission.job


async def submit_request(
    account: Account,
    source: JobSource,
    params: GenerationRequest,
    runtime: GenerationRuntime,
    *,
    idempotency_key: str | None = None,
    request_digest: str | None = None,
    rate_limit: RateLimit | None = None,
    api_key: ApiKey | None = None,
    priority: JobPriority = JobPriority.STANDARD,
) -> Submission:
    """Hold the credits, create the job and queue it. The same idempotency key from the
    same account returns the first job (even while it runs), without a second hold or a
    rate-limit token; with a different ``request_digest`` (see generation.idempotency) it
    raises ConflictError. ``rate_limit`` is taken once the request is known to be valid.
    ``api_key``: the key the request came through, whose spend limit the hold obeys.
    ``priority``: the lane it waits in (neurall.generation.turns), which also prices it."""
    existing = await _existing(account, idempotency_key)
    if existing is not None:
        check_same_request(existing, request_digest)
        return Submission(existing, replayed=True)
    await require_ready_clones(account.id, params)  # else InvalidInput
    if rate_limit is not None:
        await rate_limit.take(account.id)
    cost = estimate_cost(params, runtime, priority)
    job_id = uuid.uuid4()
    # An API job's request, and any job's input images, wait in the ephemeral payload store
    # (never the database); a playground job's parameters are kept in the job row as history.
    if source == JobSource.API or params.needs_inputs:
        if not runtime.payloads.is_connected():
            # Answer now rather than wait for the reconnection: the client retries.
            raise ServiceUnavailableError("the broker")
        # Stored before the job exists, so a worker never sees a job without its request.
        await runtime.payloads.put(job_id, codec.to_payload(params))
    try:
        async with in_transaction():
            # The hold first: it locks the account row, so concurrent submissions of one
            # account queue up here instead of deadlocking (the job's foreign key would
            # otherwise take a share lock on the account before the hold asks for more).
            await ledger.hold(account.id, cost, f"job:{job_id}", job_id=job_id, api_key=api_key)
            # Counted under the hold's account lock, so concurrent submissions cannot all
            # slip under the cap.
            await _check_active_jobs(account, priority, runtime.settings)
            job = await Job.create(
                id=job_id,
                account_id=account.id,
                source=source,
                idempotency_key=idempotency_key,
                request_digest=request_digest if idempotency_key is not None else None,
                params=codec.to_json_dict(params) if source == JobSource.PLAYGROUND else None,
                total_steps=params.steps,
                num_images=params.num_images,
                model=params.model,
                priority=priority,
                held_credits=cost,
                seq=1,
                dispatched_at=now(),
            )
    except IntegrityError:
        await runtime.payloads.delete(job_id)
        existing = await _existing(account, idempotency_key)  # lost a race on the key
        if existing is None:
            raise
        check_same_request(existing, request_digest)
        return Submission(existing, replayed=True)
    except BaseException:
        await runtime.payloads.delete(job_id)
        raise
    # The rest of this request's log lines, and the worker's, name the job.
    JOB_ID.set(str(job.id))
    crash_points.reach("job_committed")
    try:
        await runtime.enqueue(job.id)
        log.info("job %s queued", job.id)
    except Exception as exc:
        if not is_outage(exc):
            log.exception("could not queue job %s", job.id)
        if not holds_payload(job) and is_outage(exc):
            # Its request is in the database: accepted now, sent by the reaper once the
            # broker is back (an API job's request lives on the broker, so it cannot be).
            log.warning("job %s waits for the broker (%s)", job.id, type(exc).__name__)
            await Job.filter(id=job.id).update(dispatch_pending=True)
        else:
            await fail(job.id, "The job could not be queued.", runtime)
            raise
    await runtime.bus.publish(event_for(job, EventType.QUEUED))
    return Submission(job, replayed=False)


async def _check_active_jobs(account: Account, priority: JobPriority, settings: Settings) -> None:
    """Each lane has its own cap: BATCH jobs only take slots no STANDARD job wants, so an
    account may queue far more of them (bulk work submitted at once)."""
    cap = (
        settings.max_batch_jobs_per_account
        if priority == JobPriority.BATCH
        else settings.max_active_jobs_per_account
    )
    active = await Job.filter(
        account_id=account.id,
        priority=priority,
        status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
    ).count()
    if active >= cap:
        lane = "BATCH jobs" if priority == JobPriority.BATCH else "jobs"
        raise RateLimitedError(
            ACTIVE_CAP_RETRY_AFTER_S,
            f"At most {cap} {lane} may be queued or running at once; wait for one to end.",
        )


async def get_job(account: Account, job_id: str) -> Job | None:
    """The caller's job, or None (someone else's job is indistinguishable from none)."""
    parsed = parse_id(job_id)
    if parsed is None:
        return None
    return await Job.get_or_none(id=parsed, account_id=account.id)


async def list_jobs(
    account: Account, *, first: int, after: str | None, status: JobStatus | None
) -> tuple[list[Job], bool]:
    """Up to ``first`` of the caller's jobs after the cursor ``after``, newest first."""
    query = Job.filter(account_id=account.id)
    if status is not None:
        query = query.filter(status=status)
    return await newest_first(query, first, after)


async def cancel(account: Account, job_id: str, runtime: GenerationRuntime) -> Job:
    """Cancel a queued or running job. A running job is charged for the steps it finished
    (rounded down), unless the service gave up on it (its lease expired: no worker holds
    it); everything else held is released."""
    job = await get_job(account, job_id)
    if job is None:
        raise NotFoundError()

    was_queued = job.status == JobStatus.QUEUED
    for _ in range(3):  # a worker may move the job between our read and our lock
        charge = (
            pricing.partial_charge(job.held_credits, job.step, job.total_steps)
            if job.status == JobStatus.RUNNING and not _abandoned(job)
            else 0
        )
        result = await transition(
            job.id,
            EventType.CANCELED,
            allowed_from=[job.status] if job.status not in TERMINAL_STATUSES else [],
            updates={"status": JobStatus.CANCELED, "cost_credits": charge, "eta_seconds": None},
            inside=lambda j: ledger.end_hold(j.ledger_reference, j.cost_credits or 0),
        )
        if result is not None:
            job, event = result
            await discard_payload(job, runtime)
            await runtime.bus.publish(event)
            if was_queued:
                await announce_positions(runtime.bus)
            return job
        job = await Job.get(id=job.id)
        if job.status in TERMINAL_STATUSES:
            break
    raise ConflictError(f"The job has already ended ({job.status.value}).")


def _abandoned(job: Job) -> bool:
    return job.lease_expires_at is not None and job.lease_expires_at < now()


async def fail(
    job_id: uuid.UUID, error: str, runtime: GenerationRuntime, attempt: int | None = None
) -> Job | None:
    """End a job for good: FAILED, nothing charged, its hold released. Given ``attempt``,
    only while the job is still in that run.

    The outcome is written first and does not depend on the broker: the request is
    discarded after, and if the broker is down then, the reaper discards it later."""
    result = await transition(
        job_id,
        EventType.FAILED,
        updates={
            "status": JobStatus.FAILED,
            "error": error[:500],
            "cost_credits": 0,
            "eta_seconds": None,
        },
        inside=lambda j: ledger.release(j.ledger_reference),
        attempt=attempt,
    )
    if result is None:
        return None
    await discard_payload(result[0], runtime)
    await runtime.bus.publish(result[1])
    return result[0]


def holds_payload(job: Job) -> bool:
    """True when the job's request (or part of it) waits in the payload store: every API
    job, and a playground job with input images (its parameters are in the row, its images
    are not)."""
    if job.source == JobSource.API:
        return True
    return job.params is not None and job.params.get("mode", TEXT_TO_IMAGE) != TEXT_TO_IMAGE


async def discard_payload(job: Job, runtime: GenerationRuntime) -> None:
    """Delete an ended job's payload (an API job's request, input images). During a broker
    outage the job is marked instead, for the reaper; the payload queue also expires by
    itself."""
    if not holds_payload(job):
        return
    try:
        await runtime.payloads.delete(job.id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("job %s: payload left for the reaper (%s)", job.id, type(exc).__name__)
        await Job.filter(id=job.id).update(payload_orphaned=True)


async def cleanup_after_end(job: Job, runtime: GenerationRuntime) -> None:
    """Make sure an ended job's credits are settled and its payload is gone (idempotent:
    a redelivered message after a crash between commit and cleanup finishes it here)."""
    if job.status not in TERMINAL_STATUSES:
        return
    await ledger.end_hold(job.ledger_reference, job.cost_credits or 0)
    await discard_payload(job, runtime)


__all__ = [
    "Submission",
    "cancel",
    "cleanup_after_end",
    "discard_payload",
    "estimate_cost",
    "fail",
    "get_job",
    "holds_payload",
    "list_jobs",
    "submit",
    "submit_request",
]
