from typing import Optional

from pydantic import Field

from .base_model import BaseModel, Upload
from .enums import JobPriority, Scheduler, SpendPeriod, WebhookEventType


class SignUpInput(BaseModel):
    email: str
    password: str
    name: Optional[str] = None


class ProfileInput(BaseModel):
    email: Optional[str] = None
    name: Optional[str] = None
    low_credit_threshold: Optional[int] = Field(
        alias="lowCreditThreshold", default=None
    )


class SpendLimitInput(BaseModel):
    credits: Optional[int] = None
    "Most credits the key may spend per period; null removes the cap."
    period: SpendPeriod = SpendPeriod.DAY


class AdapterInput(BaseModel):
    clone_id: str = Field(alias="cloneId")
    weight: Optional[float] = 1.0
    "Strength of this clone, 0.0 to 2.0."


class GenerateInput(BaseModel):
    prompt: str
    negative_prompt: Optional[str] = Field(alias="negativePrompt", default=None)
    width: Optional[int] = None
    "Defaults to the model's native size. Multiples of 8, bounded by the server."
    height: Optional[int] = None
    steps: Optional[int] = None
    guidance_scale: Optional[float] = Field(alias="guidanceScale", default=None)
    seed: Optional[int] = None
    "Same seed and parameters give the same image."
    num_images: Optional[int] = Field(alias="numImages", default=1)
    clone_id: Optional[str] = Field(alias="cloneId", default=None)
    "Generate with a trained clone of the caller's (shorthand for adapters: [{cloneId, weight: 1}])."
    adapters: Optional[list["AdapterInput"]] = None
    "Several of the caller's clones at once, each with its weight."
    scheduler: Optional[Scheduler] = Scheduler.DEFAULT
    init_image: Optional[Upload] = Field(alias="initImage", default=None)
    "Start from this picture (image-to-image). PNG, JPEG or WebP. Deleted once the job ends; never kept in history."
    strength: Optional[float] = None
    "With initImage: 0.0 keeps it, 1.0 ignores it."
    mask: Optional[Upload] = None
    "Inpainting: white is repainted, black kept. Needs initImage of the same size. Deleted once the job ends."
    model: Optional[str] = None
    "A Model.id from models; omitted: the default model. Sizes, steps, modes and schedulers are checked against that model."
    priority: Optional[JobPriority] = JobPriority.STANDARD
    "STANDARD unless given. BATCH runs when no standard job waits, at the model's batchCreditsPerImage."


class CreateCloneInput(BaseModel):
    name: str
    trigger_word: Optional[str] = Field(alias="triggerWord", default=None)
    "Word that invokes the clone in prompts."
    training_steps: Optional[int] = Field(alias="trainingSteps", default=None)
    base_model: Optional[str] = Field(alias="baseModel", default=None)
    "The Model.id to train on (one with supportsClones); omitted: the default model. The clone works only with this model."


class WebhookEndpointInput(BaseModel):
    url: str
    "https:// (http:// only where the server allows it); never a private or loopback address."
    events: list[WebhookEventType]
    description: Optional[str] = None


class WebhookEndpointUpdateInput(BaseModel):
    url: Optional[str] = None
    events: Optional[list[WebhookEventType]] = None
    description: Optional[str] = None
    enabled: Optional[bool] = None


GenerateInput.model_rebuild()
