from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import JobEventType, JobStatus
from .fragments import ImageFields


class JobEvents(BaseModel):
    job_events: "JobEventsJobEvents" = Field(alias="jobEvents")


class JobEventsJobEvents(BaseModel):
    seq: int
    job_id: str = Field(alias="jobId")
    type_: JobEventType = Field(alias="type")
    status: JobStatus
    queue_position: Optional[int] = Field(alias="queuePosition")
    step: int
    total_steps: int = Field(alias="totalSteps")
    progress: float
    eta_seconds: Optional[float] = Field(alias="etaSeconds")
    preview: Optional["JobEventsJobEventsPreview"]
    images: list["JobEventsJobEventsImages"]
    error: Optional[str]


JobEventsJobEventsPreview = ImageFields
JobEventsJobEventsImages = ImageFields
JobEvents.model_rebuild()
JobEventsJobEvents.model_rebuild()
