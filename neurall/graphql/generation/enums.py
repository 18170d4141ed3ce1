"""The generation enums of the schema.

Where the domain has the enum (a job's status and source, a job event's type, a model's
family and state), the schema serves that enum itself under the contract's name, so the two
cannot drift apart. Modes and
schedulers are plain strings in the request record (neurall.gpu.types): declared here.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from neurall.bus.events import EventType
from neurall.generation.model_states import ModelState as DomainModelState
from neurall.gpu.catalog import ModelFamily as DomainModelFamily
from neurall.orm.jobs import JobPriority as DomainJobPriority
from neurall.orm.jobs import JobSource as DomainJobSource
from neurall.orm.jobs import JobStatus as DomainJobStatus

JobStatus = strawberry.enum(
    DomainJobStatus, name="JobStatus", description="Where a job is in its life."
)
JobSource = strawberry.enum(
    DomainJobSource,
    name="JobSource",
    description="PLAYGROUND jobs (session) are kept; API jobs (key) are ephemeral.",
)
JobPriority = strawberry.enum(
    DomainJobPriority,
    name="JobPriority",
    description="Which lane a job waits in: STANDARD jobs take fair turns between "
    "accounts; BATCH jobs run only while no STANDARD job waits, at a discount.",
)
JobEventType = strawberry.enum(
    EventType, name="JobEventType", description="What happened to a job."
)


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


ModelFamily = strawberry.enum(
    DomainModelFamily,
    name="ModelFamily",
    description="How a model's pipeline is built: SD1 (Stable Diffusion 1.x/2.x UNet), SDXL "
    "(two text encoders, size conditioning), FLUX (a rectified-flow transformer with a T5 "
    "text encoder).",
)
ModelState = strawberry.enum(
    DomainModelState,
    name="ModelState",
    description="READY: loaded on at least one GPU server. LOADING: being loaded; jobs wait "
    "meanwhile. COLD: not loaded anywhere; the first job loads it.",
)
