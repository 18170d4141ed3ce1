"""The generation types (Job, JobEvent, Image, GenerateParams, the job connection) and
their converters from the domain's rows and events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import strawberry

from neurall import clock
from neurall.bus.events import ImageRef, JobEventData
from neurall.generation.lifecycle import snapshot, snapshots
from neurall.gpu import codec
from neurall.graphql.context import Info
from neurall.graphql.generation.enums import (
    GenerationMode,
    JobEventType,
    JobPriority,
    JobSource,
    JobStatus,
    Scheduler,
)
from neurall.graphql.pagination import PageInfo
from neurall.orm import jobs as orm


@strawberry.type
class Adapter:
    clone_id: strawberry.ID
    weight: float


@strawberry.type(description="The request as sent (PLAYGROUND jobs only).")
class GenerateParams:
    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    num_images: int
    clone_id: strawberry.ID | None
    adapters: list[Adapter]
    mode: GenerationMode
    scheduler: Scheduler
    strength: float | None
    model: strawberry.ID = strawberry.field(description="The Model.id it was sent for.")
    priority: JobPriority = strawberry.field(description="The priority it was sent with.")

    @classmethod
    def from_stored(
        cls,
        stored: dict[str, object],
        model: str | None = None,
        priority: orm.JobPriority = orm.JobPriority.STANDARD,
    ) -> GenerateParams:
        """A playground job's stored parameters (the record's stored fields, by name), read
        through the record, so rows written before a field existed show its default;
        ``model``: the job's, when given (its row is what ran and priced it); ``priority``:
        the job's (a property of the job, not of the request the pipeline gets)."""
        record = codec.from_json_dict(stored)
        values = {f.name: getattr(record, f.name) for f in codec.stored_fields()}
        values["model"] = strawberry.ID(model or record.model)
        values["priority"] = priority
        values["adapters"] = [
            Adapter(clone_id=strawberry.ID(a.clone_id), weight=a.weight) for a in record.adapters
        ]
        values["mode"] = GenerationMode(record.mode)
        values["scheduler"] = Scheduler(record.scheduler)
        return cls(**values)


@strawberry.type(description="A generated image.")
class Image:
    url: str = strawberry.field(
        description="A URL on this server that returns the image bytes to the job's owner."
    )
    width: int
    height: int
    seed: int
    content_type: str
    expires_at: datetime | None = strawberry.field(
        description="For API jobs: when the result is discarded. Null for kept playground images."
    )
    flagged: bool = strawberry.field(
        description="True when the safety checker flagged this image; what was done with it "
        "follows the server's policy."
    )


def image_url(info: Info, image_id: str) -> str:
    return f"{info.context.services.settings.public_url}/images/{image_id}"


def _image(info: Info, ref: ImageRef) -> Image:
    return Image(
        url=ref.url or image_url(info, ref.id),
        width=ref.width,
        height=ref.height,
        seed=ref.seed,
        content_type=ref.content_type,
        expires_at=ref.expires_at,
        flagged=ref.flagged,
    )


@strawberry.type(description="A generation job.")
class Job:
    id: strawberry.ID
    status: JobStatus
    source: JobSource
    queue_position: int | None = strawberry.field(
        description="Jobs ahead of this one; null once it runs."
    )
    step: int
    total_steps: int
    progress: float = strawberry.field(description="0.0 to 1.0.")
    eta_seconds: float | None
    held_credits: int = strawberry.field(description="Credits reserved at submission.")
    cost_credits: int | None = strawberry.field(
        description="Credits finally charged (set when the job ends)."
    )
    model: strawberry.ID = strawberry.field(
        description="The Model.id that ran (or will run) the job; kept for API jobs too, "
        "since it prices them."
    )
    priority: JobPriority = strawberry.field(
        description="STANDARD jobs take fair turns between accounts; BATCH jobs run only "
        "while no STANDARD job waits, at the model's batchCreditsPerImage."
    )
    params: GenerateParams | None = strawberry.field(
        description="The request as sent. Kept for PLAYGROUND jobs; always null for API jobs."
    )
    images: list[Image] = strawberry.field(
        description="Results. For API jobs they are served until first fetched or until "
        "expiresAt, then discarded; afterwards this list is empty."
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


async def job_type(info: Info, job: orm.Job) -> Job:
    return _job(info, job, await snapshot(job))


async def job_types(info: Info, jobs: Sequence[orm.Job]) -> list[Job]:
    """``job_type`` of a page of jobs (their images read in one query)."""
    return [_job(info, job, event) for job, event in zip(jobs, await snapshots(jobs), strict=True)]


def _job(info: Info, job: orm.Job, event: JobEventData) -> Job:
    params = None
    if job.source == orm.JobSource.PLAYGROUND and job.params is not None:
        params = GenerateParams.from_stored(job.params, job.model, job.priority)
    return Job(
        id=strawberry.ID(str(job.id)),
        status=JobStatus(job.status),
        source=JobSource(job.source),
        queue_position=event.queue_position,
        step=job.step,
        total_steps=job.total_steps,
        progress=event.progress,
        eta_seconds=event.eta_seconds,
        held_credits=job.held_credits,
        cost_credits=job.cost_credits,
        model=strawberry.ID(job.model),
        priority=job.priority,
        params=params,
        images=[_image(info, i) for i in event.images if not _expired(i)],
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _expired(ref: ImageRef) -> bool:
    return ref.expires_at is not None and ref.expires_at <= clock.now()


@strawberry.type(description="One change in a job's life.")
class JobEvent:
    seq: int = strawberry.field(
        description="Strictly increasing per job, from 1. Resume with jobEvents(afterSeq)."
    )
    job_id: strawberry.ID
    type: JobEventType
    status: JobStatus
    queue_position: int | None
    step: int
    total_steps: int
    progress: float
    eta_seconds: float | None
    preview: Image | None = strawberry.field(
        description="Low-resolution preview of the current latents, when the server sends them."
    )
    images: list[Image] = strawberry.field(description="Set on SUCCEEDED.")
    error: str | None = strawberry.field(description="Set on FAILED.")


def event_type(info: Info, event: JobEventData) -> JobEvent:
    return JobEvent(
        seq=event.seq,
        job_id=strawberry.ID(str(event.job_id)),
        type=JobEventType(event.type),
        status=JobStatus(event.status),
        queue_position=event.queue_position,
        step=event.step,
        total_steps=event.total_steps,
        progress=event.progress,
        eta_seconds=event.eta_seconds,
        preview=_image(info, event.preview) if event.preview else None,
        images=[_image(info, i) for i in event.images],
        error=event.error,
    )


@strawberry.type
class JobEdge:
    cursor: str
    node: Job


@strawberry.type(description="A page of jobs, newest first.")
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo
