"""GenerateInput and AdapterInput, and their one conversion to the request record."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from enum import Enum

import strawberry
from strawberry.file_uploads import Upload

from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.generation import inputs
from neurall.generation import params as gen_params
from neurall.gpu.catalog import Catalog
from neurall.gpu.types import GenerationRequest
from neurall.graphql.generation.enums import JobPriority, Scheduler
from neurall.graphql.uploads import UploadedFile
from neurall.orm.jobs import JobPriority as DomainJobPriority

# Input fields that take a file part of a multipart request (GraphQL name by field name).
_UPLOADS = {"init_image": "initImage", "mask": "mask"}


# The input's fields that belong to the job, not to the request record: they say how the
# job waits and is priced, and never reach the pipeline.
JOB_FIELDS = frozenset({"priority"})


@strawberry.input
class AdapterInput:
    clone_id: strawberry.ID
    weight: float | None = strawberry.field(
        default=1.0, description="Strength of this clone, 0.0 to 2.0."
    )


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
    model: strawberry.ID | None = strawberry.field(
        default=None,
        description="A Model.id from models; omitted: the default model. Sizes, steps, modes "
        "and schedulers are checked against that model.",
    )
    priority: JobPriority | None = strawberry.field(
        default=JobPriority.STANDARD,
        description="STANDARD unless given. BATCH runs when no standard job waits, at the "
        "model's batchCreditsPerImage.",
    )

    def lane(self) -> DomainJobPriority:
        """The job's priority (an explicit null reads as the default, STANDARD)."""
        return DomainJobPriority(self.priority or DomainJobPriority.STANDARD)

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

    async def to_request(self, settings: Settings, catalog: Catalog) -> GenerationRequest:
        """The one conversion to the request record: the fields carry its names, checked
        against the chosen model of ``catalog``. Input images are decoded on a thread, so
        a big upload does not stall the event loop."""
        sent = {name: v for name, v in self.sent().items() if name not in JOB_FIELDS}
        if any(sent[name] is not None for name in _UPLOADS):
            return await asyncio.to_thread(gen_params.validate, sent, settings, catalog)
        return gen_params.validate(sent, settings, catalog)

    def digest_input(self) -> dict[str, object]:
        """What the idempotency digest covers: uploads by the SHA-256 of their bytes."""
        values = self.sent()
        for name in _UPLOADS:
            upload = values[name]
            if isinstance(upload, UploadedFile):
                values[name] = hashlib.sha256(upload.file.getvalue()).hexdigest()
        return values
