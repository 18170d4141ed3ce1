"""A job's state changes, each numbered and announced as a JobEvent.

Every change goes through ``transition``: in one transaction it locks the job row, checks the
status is one the change may leave from (so a cancel and a finishing worker cannot both
win), applies the change, takes the next ``seq`` and builds the event. The caller publishes
the event after the commit, so a subscriber never sees an event the database rolled back.
The one exception is a running job's per-step PROGRESS and PREVIEW events, which are
numbered without a transaction (see ``SEQ_SLOTS_PER_STEP`` and neurall.generation.progress).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from neurall import events
from neurall.bus.events import EventType, ImageRef, JobEventBus, JobEventData
from neurall.clock import now
from neurall.generation import turns
from neurall.orm.jobs import TERMINAL_STATUSES, Job, JobImage, JobStatus

# Queue positions are announced to at most this many waiting jobs after each change; jobs
# further back learn theirs when they move into this window.
POSITION_ANNOUNCE_LIMIT = 50

# While a job runs, its per-step events are numbered without a database transaction (see
# neurall.generation.progress): step ``s`` of a run whose STARTED event had seq ``base``
# sends PROGRESS with seq ``base + 2s - 1`` and PREVIEW with ``base + 2s``, and the row is
# written now and then with ``step = s, seq = base + 2s``. So a RUNNING row always satisfies
# ``seq = base + SEQ_SLOTS_PER_STEP * step`` and the highest seq the run can ever send is
# known from the row alone (``running_seq_ceiling``).
SEQ_SLOTS_PER_STEP = 2

ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})

# The job changes that are domain events (recorded in the transition's own transaction).
DOMAIN_EVENTS = {
    EventType.STARTED: events.EventType.JOB_STARTED,
    EventType.SUCCEEDED: events.EventType.JOB_SUCCEEDED,
    EventType.FAILED: events.EventType.JOB_FAILED,
    EventType.CANCELED: events.EventType.JOB_CANCELED,
}


def image_ref(image: JobImage) -> ImageRef:
    return ImageRef(
        id=str(image.id),
        width=image.width,
        height=image.height,
        seed=image.seed,
        content_type=image.content_type,
        expires_at=image.expires_at,
        flagged=image.flagged,
    )


async def queue_position(job: Job) -> int | None:
    """How many jobs start before this one under the queue's rule (neurall.generation.turns);
    None unless it is queued."""
    if job.status != JobStatus.QUEUED:
        return None
    return (await turns.positions([job])).get(job.id)


def running_seq_ceiling(job: Job) -> int:
    """The highest seq a RUNNING job's worker may send for its current run."""
    return job.seq + SEQ_SLOTS_PER_STEP * max(0, job.total_steps - job.step)


def event_for(
    job: Job,
    type_: EventType,
    *,
    position: int | None = None,
    images: Iterable[JobImage] = (),
) -> JobEventData:
    return JobEventData(
        seq=job.seq,
        job_id=job.id,
        type=type_,
        status=job.status.value,
        queue_position=position,
        step=job.step,
        total_steps=job.total_steps,
        progress=job.step / job.total_steps if job.total_steps else 0.0,
        eta_seconds=job.eta_seconds if job.status == JobStatus.RUNNING else None,
        images=[image_ref(i) for i in images],
        error=job.error,
    )


async def queue_positions(jobs: Sequence[Job]) -> dict[uuid.UUID, int]:
    """``queue_position`` of each queued job of ``jobs``, in a few queries whatever their
    number."""
    return await turns.positions(jobs)


async def snapshot(
    job: Job, images: list[JobImage] | None = None, position: int | None = None
) -> JobEventData:
    """The job's current state as an event with its latest seq (what a subscriber sees
    first). ``images``: a succeeded job's images, ``position``: a queued job's place, when
    the caller already has them."""
    match job.status:
        case JobStatus.QUEUED:
            if position is None:
                position = await queue_position(job)
            return event_for(job, EventType.QUEUED, position=position)
        case JobStatus.RUNNING:
            return event_for(job, EventType.PROGRESS if job.step else EventType.STARTED)
        case JobStatus.SUCCEEDED:
            if images is None:
                images = await JobImage.filter(job_id=job.id).order_by("index")
            return event_for(job, EventType.SUCCEEDED, images=images)
        case JobStatus.FAILED:
            return event_for(job, EventType.FAILED)
    return event_for(job, EventType.CANCELED)


async def snapshots(jobs: Sequence[Job]) -> list[JobEventData]:
    """``snapshot`` of a page of jobs, with the images and queue positions of all of them
    in a query or two rather than one per job."""
    succeeded = [job.id for job in jobs if job.status == JobStatus.SUCCEEDED]
    images: dict[uuid.UUID, list[JobImage]] = defaultdict(list)
    if succeeded:
        for image in await JobImage.filter(job_id__in=succeeded).order_by("index"):
            images[image.job_id].append(image)
    positions = await queue_positions(jobs)
    return [await snapshot(job, images.get(job.id, []), positions.get(job.id)) for job in jobs]


async def transition(
    job_id: uuid.UUID,
    type_: EventType,
    *,
    allowed_from: Iterable[JobStatus] = ACTIVE,
    updates: dict[str, Any] | None = None,
    inside: Callable[[Job], Awaitable[list[JobImage] | None]] | None = None,
    attempt: int | None = None,
) -> tuple[Job, JobEventData] | None:
    """Apply ``updates`` (and ``inside``, run in the same transaction) if the job's status
    is in ``allowed_from`` and, given ``attempt``, the job is still in that run (the
    reaper may have handed it to another worker); None when not (someone else moved it)."""
    allowed = frozenset(allowed_from)
    # The relay is woken after the commit, without waiting: a receiver never delays the job.
    async with events.announcing(), in_transaction():
        job = await Job.filter(id=job_id).select_for_update().get_or_none()
        if job is None or job.status not in allowed:
            return None
        if attempt is not None and job.attempts != attempt:
            return None
        return await _apply(job, type_, updates, inside)


async def _apply(
    job: Job,
    type_: EventType,
    updates: dict[str, Any] | None,
    inside: Callable[[Job], Awaitable[list[JobImage] | None]] | None,
) -> tuple[Job, JobEventData]:
    """``transition``'s changes, inside its transaction (its domain event included)."""
    if job.status == JobStatus.RUNNING:
        # Leaving (or restarting) a run: number past every per-step event the worker
        # may already have sent, which the row does not record one by one.
        job.seq = running_seq_ceiling(job)
    for name, value in (updates or {}).items():
        setattr(job, name, value)
    if job.status != JobStatus.RUNNING:
        job.lease_expires_at = None  # only a run holds a lease
    if job.status in TERMINAL_STATUSES and job.finished_at is None:
        job.finished_at = now()
    job.seq += 1
    await job.save()
    images = (await inside(job) or []) if inside is not None else []
    position = (
        await queue_position(job) if type_ in (EventType.QUEUED, EventType.POSITION) else None
    )
    domain_type = DOMAIN_EVENTS.get(type_)
    if domain_type is not None:
        await events.record(domain_type, subject_id=job.id, account_id=job.account_id)
    return job, event_for(job, type_, position=position, images=images)


async def requeue(job_id: uuid.UUID, attempt: int) -> tuple[Job, JobEventData] | None:
    """Put a job whose run ``attempt`` ended without an outcome back in the queue; None if
    it is no longer in that run (canceled, or handed on meanwhile)."""
    return await transition(
        job_id,
        EventType.QUEUED,
        allowed_from=[JobStatus.RUNNING],
        updates={"status": JobStatus.QUEUED, "step": 0, "eta_seconds": None},
        attempt=attempt,
    )


async def announce_positions(bus: JobEventBus) -> None:
    """Tell the first waiting jobs their new place in the queue (after one left it).

    One transaction for all of them (lock the rows, bump each seq with one UPDATE), not a
    transition each: at saturation every job start announces to every waiting job, and the
    per-job transactions were the largest cost in the worker's benchmark profile.
    """
    first = await turns.first_waiting(POSITION_ANNOUNCE_LIMIT)
    if not first:
        return
    places = dict(first)
    async with in_transaction():
        waiting = await Job.filter(id__in=list(places), status=JobStatus.QUEUED).select_for_update()
        if not waiting:
            return
        await Job.filter(id__in=[j.id for j in waiting], status=JobStatus.QUEUED).update(
            seq=F("seq") + 1
        )
    events = []
    for job in sorted(waiting, key=lambda j: places[j.id]):
        job.seq += 1
        events.append(event_for(job, EventType.POSITION, position=places[job.id]))
    for event in events:
        await bus.publish(event)
