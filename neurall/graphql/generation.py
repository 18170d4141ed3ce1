"""generate, cancelJob, job, jobs, estimateCost and the jobEvents subscription."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from neurall import clock, events
from neurall.accounts.viewer import Scope, Viewer
from neurall.bus.events import ImageRef, JobEventData
from neurall.config import Settings
from neurall.errors import DomainError, InvalidInputError, NotFoundError
from neurall.generation import inputs, service
from neurall.generation import params as gen_params
from neurall.generation.idempotency import request_digest
from neurall.generation.lifecycle import snapshot, snapshots
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu import codec
from neurall.gpu.types import GenerationRequest
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    Conflict,
    Forbidden,
    InsufficientCredits,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PublicError,
    RateLimited,
    SpendLimitReached,
    returns_user_errors,
)
from neurall.graphql.outages import until_outage
from neurall.graphql.pagination import PageInfo, clamp_first, page_info
from neurall.graphql.permissions import require_scope
from neurall.graphql.shared_events import shared_object
from neurall.graphql.uploads import UploadedFile
from neurall.orm import jobs as orm
from neurall.orm.pages import cursor_of


@strawberry.enum(description="Where a job is in its life.")
class JobStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


@strawberry.enum(description="PLAYGROUND jobs (session) are kept; API jobs (key) are ephemeral.")
class JobSource(Enum):
    PLAYGROUND = "PLAYGROUND"
    API = "API"


@strawberry.enum(description="What happened to a job.")
class JobEventType(Enum):
    QUEUED = "QUEUED"
    POSITION = "POSITION"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    PREVIEW = "PREVIEW"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


@strawberry.input
class AdapterInput:
    clone_id: strawberry.ID
    weight: float | None = strawberry.field(
        default=1.0, description="Strength of this clone, 0.0 to 2.0."
    )


@strawberry.type
class Adapter:
    clone_id: strawberry.ID
    weight: float


@strawberry.enum(description="Which pipeline a job runs: what its input images made it.")
class GenerationMode(Enum):
    TEXT_TO_IMAGE = "TEXT_TO_IMAGE"
    IMAGE_TO_IMAGE = "IMAGE_TO_IMAGE"
    INPAINT = "INPAINT"


@strawberry.enum(description="Denoising schedulers. DEFAULT is the model's own.")
class Scheduler(Enum):
    DEFAULT = "DEFAULT"
    DDIM = "DDIM"
    EULER = "EULER"
    EULER_ANCESTRAL = "EULER_ANCESTRAL"
    DPM_PP_2M = "DPM_PP_2M"
    UNIPC = "UNIPC"


# Input fields that take a file part of a multipart request (GraphQL name by field name).
_UPLOADS = {"init_image": "initImage", "mask": "mask"}


@strawberry.input(
    description="A generation request: text-to-image, or image-to-image (initImage) and "
    "inpainting (initImage and mask). Unset fields take server defaults."
)
class GenerateInput:
    prompt: str
    negative_prompt: str | None = None
    width: int | None = strawberry.field(
        default=None,
        description="Defaults to the model's native size. Multiples of 8, bounded by the server.",
    )
    height: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = strawberry.field(
        default=None, description="Same seed and parameters give the same image."
    )
    num_images: int | None = 1
    clone_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Generate with a trained clone of the caller's (shorthand for adapters: "
        "[{cloneId, weight: 1}]).",
    )
    adapters: list[AdapterInput] | None = strawberry.field(
        default=None, description="Several of the caller's clones at once, each with its weight."
    )
    scheduler: Scheduler | None = Scheduler.DEFAULT
    init_image: Upload | None = strawberry.field(
        default=None,
        description="Start from this picture (image-to-image). PNG, JPEG or WebP. Deleted "
        "once the job ends; never kept in history.",
    )
    strength: float | None = strawberry.field(
        default=None, description="With initImage: 0.0 keeps it, 1.0 ignores it."
    )
    mask: Upload | None = strawberry.field(
        default=None,
        description="Inpainting: white is repainted, black kept. Needs initImage of the same "
        "size. Deleted once the job ends.",
    )

    def sent(self) -> dict[str, object]:
        """What the caller sent, by the record's field names (enums as their values, nested
        inputs such as ``adapters`` as dicts)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, value in values.items():
            if isinstance(value, Enum):
                values[name] = value.value
            elif isinstance(value, list):
                values[name] = [
                    dataclasses.asdict(item) if dataclasses.is_dataclass(item) else item
                    for item in value
                ]
            elif name in _UPLOADS and value is not None and not isinstance(value, UploadedFile):
                # JSON variables can put anything where an Upload goes; only file parts count.
                raise InvalidInputError(
                    f"{inputs.LABELS[_UPLOADS[name]]} must be sent as a file part of a "
                    "multipart request.",
                    [f"input.{_UPLOADS[name]}"],
                )
        return values

    async def to_request(self, settings: Settings) -> GenerationRequest:
        """The one conversion to the request record: the fields carry its names. Input
        images are decoded on a thread, so a big upload does not stall the event loop."""
        sent = self.sent()
        if any(sent[name] is not None for name in _UPLOADS):
            return await asyncio.to_thread(gen_params.validate, sent, settings)
        return gen_params.validate(sent, settings)

    def digest_input(self) -> dict[str, object]:
        """What the idempotency digest covers: uploads by the SHA-256 of their bytes."""
        values = self.sent()
        for name in _UPLOADS:
            upload = values[name]
            if isinstance(upload, UploadedFile):
                values[name] = hashlib.sha256(upload.file.getvalue()).hexdigest()
        return values


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

    @classmethod
    def from_stored(cls, stored: dict[str, object]) -> GenerateParams:
        """A playground job's stored parameters (the record's stored fields, by name), read
        through the record, so rows written before a field existed show its default."""
        record = codec.from_json_dict(stored)
        values = {f.name: getattr(record, f.name) for f in codec.stored_fields()}
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
        params = GenerateParams.from_stored(job.params)
    return Job(
        id=strawberry.ID(str(job.id)),
        status=JobStatus(job.status.value),
        source=JobSource(job.source.value),
        queue_position=event.queue_position,
        step=job.step,
        total_steps=job.total_steps,
        progress=event.progress,
        eta_seconds=event.eta_seconds,
        held_credits=job.held_credits,
        cost_credits=job.cost_credits,
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
        type=JobEventType(event.type.value),
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


GenerateResult = Annotated[
    Job
    | InvalidInput
    | InsufficientCredits
    | RateLimited
    | NotAuthenticated
    | Forbidden
    | NotFound
    | Conflict
    | SpendLimitReached,
    strawberry.union("GenerateResult"),
]
CancelJobResult = Annotated[
    Job | NotFound | Conflict | NotAuthenticated | Forbidden, strawberry.union("CancelJobResult")
]


def generation_runtime(info: Info) -> GenerationRuntime:
    """The process's generation runtime (started with the app)."""
    runtime = info.context.services.generation
    if runtime is None:
        raise RuntimeError("generation is not running in this process")
    return runtime


def _generate_viewer(info: Info) -> Viewer:
    return require_scope(info, Scope.GENERATE)


def _public(info: Info) -> Viewer:
    """For fields without a result union: errors travel as PublicError."""
    try:
        return _generate_viewer(info)
    except DomainError as exc:
        raise PublicError(exc) from None


@strawberry.type
class GenerationQuery:
    @strawberry.field(description="Null unless the job exists and belongs to the caller.")
    async def job(self, info: Info, id: strawberry.ID) -> Job | None:
        viewer = _public(info)
        job = await service.get_job(viewer.account, str(id))
        return await job_type(info, job) if job is not None else None

    @strawberry.field(description="The caller's jobs, newest first.")
    async def jobs(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: JobStatus | None = None,
    ) -> JobConnection:
        viewer = _public(info)
        try:
            rows, more = await service.list_jobs(
                viewer.account,
                first=clamp_first(first),
                after=after,
                status=orm.JobStatus(status.value) if status else None,
            )
        except DomainError as exc:
            raise PublicError(exc) from None
        edges = [
            JobEdge(cursor=cursor_of(job), node=node)
            for job, node in zip(rows, await job_types(info, rows), strict=True)
        ]
        return JobConnection(
            edges=edges,
            page_info=page_info(edges, more),
        )

    @strawberry.field(description="What generate would hold for this input, in credits.")
    async def estimate_cost(self, info: Info, input: GenerateInput) -> int:
        _public(info)
        try:
            params = await input.to_request(info.context.services.settings)
        except DomainError as exc:
            raise PublicError(exc) from None
        return service.estimate_cost(params, generation_runtime(info))


@strawberry.type
class GenerationMutation:
    @strawberry.mutation(
        description="Queues a generation. The same idempotencyKey from the same account "
        "returns the same job."
    )
    @returns_user_errors
    async def generate(
        self, info: Info, input: GenerateInput, idempotency_key: str | None = None
    ) -> GenerateResult:
        viewer = _generate_viewer(info)
        key = gen_params.check_idempotency_key(idempotency_key)
        settings = info.context.services.settings
        params = await input.to_request(settings)
        source = orm.JobSource.API if viewer.via_api_key else orm.JobSource.PLAYGROUND
        digest = None
        if key is not None:
            secret = settings.secret_key.get_secret_value().encode()
            digest = request_digest(viewer.account.id, input.digest_input(), secret)
        # A hold that takes the credits below the low-credit threshold records an event.
        async with events.announcing():
            submission = await service.submit_request(
                viewer.account,
                source,
                params,
                generation_runtime(info),
                idempotency_key=key,
                request_digest=digest,
                rate_limit=info.context.services.rate_limits.generate,
                api_key=viewer.api_key,
            )
        job = submission.job
        if not submission.replayed:  # a replay made nothing new: usage counts it once
            info.context.usage_reference = job.ledger_reference
            info.context.usage_images = job.num_images
        return await job_type(info, job)

    @strawberry.mutation(
        description="Cancels a queued or running job; unused held credits are released."
    )
    @returns_user_errors
    async def cancel_job(self, info: Info, id: strawberry.ID) -> CancelJobResult:
        viewer = _generate_viewer(info)
        return await job_type(
            info, await service.cancel(viewer.account, str(id), generation_runtime(info))
        )


@strawberry.type
class GenerationSubscription:
    @strawberry.subscription(
        description="Live events of one of the caller's jobs. Starts with the job's current "
        "state, then streams until it ends. afterSeq skips events already seen."
    )
    async def job_events(
        self, info: Info, job_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        viewer = _public(info)
        runtime = generation_runtime(info)
        parsed = _parse(job_id)
        # Subscribe before reading the row, so no event falls between the two.
        async with runtime.bus.subscribe(parsed or uuid.uuid4()) as live:
            job = await service.get_job(viewer.account, str(job_id))
            if job is None:
                raise PublicError(NotFoundError())
            current = await snapshot(job)
            last = after_seq or 0
            if current.seq > last:
                last = current.seq
                yield event_type(info, current)
            if current.terminal:
                return
            async for event in until_outage(live):
                if event.seq <= last:
                    continue
                last = event.seq
                # One object per bus event for all its subscribers: their executions are
                # then shared too (shared_events).
                yield shared_object(event, lambda event=event: event_type(info, event))
                if event.terminal:
                    return


def _parse(job_id: strawberry.ID) -> uuid.UUID | None:
    from neurall.ids import parse_id

    return parse_id(str(job_id))
