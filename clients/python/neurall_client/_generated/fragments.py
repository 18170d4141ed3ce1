from datetime import datetime
from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import CloneStatus, JobPriority, JobSource, JobStatus


class CloneFields(BaseModel):
    id: str
    name: str
    trigger_word: str = Field(alias="triggerWord")
    status: CloneStatus
    progress: float
    source_images_deleted: bool = Field(alias="sourceImagesDeleted")
    error: Optional[str]
    created_at: datetime = Field(alias="createdAt")
    base_model: str = Field(alias="baseModel")


class ImageFields(BaseModel):
    url: str
    width: int
    height: int
    seed: int
    content_type: str = Field(alias="contentType")
    expires_at: Optional[datetime] = Field(alias="expiresAt")
    flagged: bool


class JobFields(BaseModel):
    id: str
    status: JobStatus
    source: JobSource
    model: str
    priority: JobPriority
    queue_position: Optional[int] = Field(alias="queuePosition")
    step: int
    total_steps: int = Field(alias="totalSteps")
    progress: float
    eta_seconds: Optional[float] = Field(alias="etaSeconds")
    held_credits: int = Field(alias="heldCredits")
    cost_credits: Optional[int] = Field(alias="costCredits")
    error: Optional[str]
    created_at: datetime = Field(alias="createdAt")
    started_at: Optional[datetime] = Field(alias="startedAt")
    finished_at: Optional[datetime] = Field(alias="finishedAt")
    images: list["JobFieldsImages"]


class JobFieldsImages(ImageFields):
    pass


CloneFields.model_rebuild()
ImageFields.model_rebuild()
JobFields.model_rebuild()
