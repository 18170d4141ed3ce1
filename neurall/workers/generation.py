"""The generation actor's body: take one message's turn and run the job it starts.

A message names a job but is a turn (neurall.generation.turns): it starts the job the
queue's rule picks, and records its id on that job (``started_by``). Idempotent, because
messages are delivered at least once (RabbitMQ redelivers, and the reaper sends again what
looks lost): a message for a job that already ended tidies it up (credits settled, payload
gone), then takes its turn all the same; a turn left over finds nothing waiting and is
dropped. The same message handled again (redelivered, or retried) takes over the run it
started, whose worker is gone, or starts nothing if that run has ended; any other run
whose worker died is the reaper's, once its lease expires. Starting is a guarded
transition from the state the job was read in, so of two workers picking one job only
one starts it. Finishing is guarded too, so a job ends
exactly once, and the ledger settles by reference, so it is charged exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import replace

from neurall.billing import ledger
from neurall.bus.events import EventType, JobEventData
from neurall.clock import now
from neurall.clones.service import CloneUnavailableError, adapter_keys
from neurall.generation import model_states, service, turns
from neurall.generation.lease import holding_lease, lease_until
from neurall.generation.lifecycle import announce_positions, requeue, transition
from neurall.generation.progress import ProgressReporter, expected_start_eta, shape_of
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu import codec
from neurall.gpu.types import (
    GenerationRequest,
    GenerationResult,
    InferenceError,
    InferenceUnavailable,
    StepProgress,
)
from neurall.logs import JOB_ID
from neurall.metrics import JOB_QUEUE_WAIT
from neurall.orm.jobs import TERMINAL_STATUSES, Job, JobImage, JobSource, JobStatus

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Inference is unavailable for now; Dramatiq retries the message with backoff."""


WITHHELD = "Every image was withheld by the safety checker; nothing was charged."


def image_key(job_id: uuid.UUID, index: int) -> str:
    return f"images/{job_id}/{index}.png"


async def _load_params(job: Job, runtime: GenerationRuntime) -> GenerationRequest | None:
    if not service.holds_payload(job) and job.params is not None:
        return codec.from_json_dict(job.params)
    # An API job's request, or a playground job's parameters with its input images.
    raw = await runtime.payloads.get(job.id)
    return codec.from_json(raw) if raw is not None else None


async def _for_this_run(
    job: Job, params: GenerationRequest, runtime: GenerationRuntime
) -> GenerationRequest:
    """The request with the run fields this deployment fills in, on the job's model (the
    job row's, which priced it: the stored request of a job older than the catalog has
    none)."""
    # The owner's READY clones at run time (one may have been deleted since submission).
    keys = await adapter_keys(job.account_id, params, runtime.models)
    return replace(
        params,
        adapter_keys=keys,
        preview_every=runtime.settings.preview_every_steps,
        model=job.model,
    )


async def run_job(
    job_id: str, runtime: GenerationRuntime, *, message_id: str | None = None
) -> None:
    """Take the turn of the message for ``job_id`` (see neurall.generation.turns): start the
    job the queue's rule picks and run it to an end, or raise RetryLater for a transient
    failure. ``message_id``: the message's, recorded on the job it starts, so that the
    same message handled again takes over that run."""
    named = await Job.get_or_none(id=uuid.UUID(job_id))
    if named is not None and named.status in TERMINAL_STATUSES:
        # A copy of an ended job's message, or its redelivery after a crash between the
        # commit and the acknowledgement: settle what that crash may have left.
        await service.cleanup_after_end(named, runtime)
    started = await _take_turn(runtime, message_id)
    if started is None:
        return
    job, event, params = started
    JOB_ID.set(str(job.id))  # the rest of this message's log lines name the job it runs
    settings = runtime.settings
    attempt = job.attempts
    await runtime.bus.publish(event)
    await announce_positions(runtime.bus)
    try:
        async with holding_lease(job.id, attempt, settings.job_lease_s):
            result = await _infer(job, params, runtime)
    except InferenceUnavailable as exc:
        if attempt > settings.generation_max_retries:
            log.warning("job %s failed after %d attempts: %s", job.id, attempt, exc)
            await service.fail(job.id, "The inference service is unavailable.", runtime, attempt)
            return
        requeued = await requeue(job.id, attempt)
        if requeued is None:
            return  # canceled while it ran
        await runtime.bus.publish(requeued[1])
        log.info("job %s: inference unavailable, retrying (attempt %d)", job.id, job.attempts)
        raise RetryLater(str(exc)) from None
    except CloneUnavailableError:
        # Deleted (or its weights lost) after the job was queued: nothing to retry.
        await service.fail(job.id, "The clone this job uses no longer exists.", runtime, attempt)
        return
    except InferenceError as exc:
        # Inference errors describe the server's state, never the request's content.
        log.warning("job %s failed: %s", job.id, exc)
        await service.fail(job.id, "Inference failed.", runtime, attempt)
        return
    if result is None:
        return  # canceled while it ran
    if not result.entries():
        # The safety checker withheld every image (policy "drop"): nothing to charge.
        await service.fail(job.id, WITHHELD, runtime, attempt)
        return
    await _finish(job, params, result, runtime)


async def _take_turn(
    runtime: GenerationRuntime, message_id: str | None
) -> tuple[Job, JobEventData, GenerationRequest] | None:
    """Start a job for this turn: the run this message started before, if it is still
    RUNNING (its worker is gone: this message is being handled again), else the job the
    queue's rule picks; None when nothing waits. Each job tried leaves the queue (started
    here or elsewhere, or failed), so the loop ends."""
    if message_id is not None:
        previous = await Job.filter(started_by=message_id).first()
        if previous is not None and previous.status == JobStatus.RUNNING:
            log.info("job %s: its worker is gone; starting it over", previous.id)
            started = await _start(previous, runtime, message_id)
            if started is not None:
                return started
        elif previous is not None and previous.status in TERMINAL_STATUSES:
            # This turn was taken, by a run that ended (its worker died before the
            # acknowledgement): another start would leave some job without a turn.
            return None
        # (QUEUED: put back for a retry of this very message, which is its turn.)
    tried: set[uuid.UUID] = set()
    while (job := await turns.next_job(tried)) is not None:
        tried.add(job.id)
        started = await _start(job, runtime, message_id)
        if started is not None:
            return started
    return None


async def _start(
    job: Job, runtime: GenerationRuntime, message_id: str | None
) -> tuple[Job, JobEventData, GenerationRequest] | None:
    """Start ``job`` (from the status it was read in); None when it cannot run (failed
    here) or another worker moved it first."""
    settings = runtime.settings
    if job.attempts > settings.generation_max_retries:
        # Attempts that never came back (time limit, killed workers) count too.
        await service.fail(job.id, "The job could not be completed.", runtime)
        return None
    first_start = job.started_at is None
    started = await transition(
        job.id,
        EventType.STARTED,
        # From what was read: of two workers picking the same job, one starts it.
        allowed_from=[job.status],
        attempt=job.attempts,
        updates={
            "status": JobStatus.RUNNING,
            "received_at": now(),
            "started_at": job.started_at or now(),
            "started_by": message_id,
            "step": 0,
            "eta_seconds": None,
            "error": None,
            "attempts": job.attempts + 1,
            "lease_expires_at": lease_until(settings.job_lease_s),
        },
    )
    if started is None:
        return None
    # Read only once claimed: a RabbitMQ payload is held by whoever reads it, so workers
    # racing for one job would each find it gone and fail the job.
    params = await _load_params(started[0], runtime)
    if params is None:
        await service.fail(
            job.id, "The request expired before it could run.", runtime, started[0].attempts
        )
        return None
    running, event = started
    if first_start:
        waited = (running.started_at - running.created_at).total_seconds()
        JOB_QUEUE_WAIT.labels(running.priority.value).observe(max(0.0, waited))
    eta = expected_start_eta(
        shape_of(running.model, params),
        running.total_steps,
        model_states.expected_load_seconds(runtime, running.model),
    )
    if eta is not None:
        # Known once the request is read (a step's time depends on its size): the row
        # says it too, for whoever reads the job before its first step.
        await Job.filter(id=running.id, status=JobStatus.RUNNING, seq=running.seq).update(
            eta_seconds=eta
        )
        running.eta_seconds = eta
        event = replace(event, eta_seconds=eta)
    return running, event, params


async def _infer(
    job: Job, params: GenerationRequest, runtime: GenerationRuntime
) -> GenerationResult | None:
    backend = await runtime.inference()
    # Every step is published; the row is written now and then (see generation.progress).
    progress = ProgressReporter(
        job,
        runtime.bus,
        write_interval_s=runtime.settings.progress_write_interval_ms / 1000,
        seed=params.seed,
        shape=shape_of(job.model, params),
    )
    stream = backend.generate(await _for_this_run(job, params, runtime))
    try:
        async with contextlib.aclosing(stream):  # leaving early cancels between steps
            async for item in stream:
                if isinstance(item, GenerationResult):
                    return item
                assert isinstance(item, StepProgress)
                if not await progress.step(item.step, item.preview_png):
                    return None  # canceled (or ended elsewhere): stop the pipeline
    finally:
        # What is loaded now, for the ETA of the next starts (never asked on a start).
        model_states.refresh_soon(runtime)
    raise InferenceUnavailable("the stream ended without a result")


async def _finish(
    job: Job, params: GenerationRequest, result: GenerationResult, runtime: GenerationRuntime
) -> None:
    # Files first, under keys fixed by the job, so a retry after a crash overwrites them.
    entries = result.entries()
    for index, png, _flagged in entries:
        await runtime.storage.put(image_key(job.id, index), png)
    # Images the safety checker withheld are not charged: the hold is per image.
    charge = job.held_credits * len(entries) // max(1, job.num_images)
    expires = None
    if job.source == JobSource.API:
        from datetime import timedelta

        expires = now() + timedelta(seconds=runtime.settings.api_image_ttl_s)

    async def record(done: Job) -> list[JobImage]:
        images = [
            await JobImage.create(
                job_id=done.id,
                index=index,
                storage_key=image_key(done.id, index),
                width=params.width,
                height=params.height,
                seed=params.seed + index,
                expires_at=expires,
                flagged=flagged,
            )
            for index, _png, flagged in entries
        ]
        await ledger.settle(done.ledger_reference, charge)
        return images

    finished = await transition(
        job.id,
        EventType.SUCCEEDED,
        allowed_from=[JobStatus.RUNNING],
        updates={
            "status": JobStatus.SUCCEEDED,
            "step": job.total_steps,
            "eta_seconds": None,
            "cost_credits": charge,
        },
        inside=record,
        attempt=job.attempts,
    )
    if finished is None:
        # Canceled at the last step: its files go. (A run the reaper handed on wrote the
        # same keys; they stay if that run succeeded.)
        current = await Job.get_or_none(id=job.id)
        if current is None or current.status != JobStatus.SUCCEEDED:
            await runtime.storage.delete_prefix(f"images/{job.id}")
        return
    await service.discard_payload(finished[0], runtime)
    await runtime.bus.publish(finished[1])
