from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import GenerationMode, ModelFamily, ModelState, Scheduler


class ListModels(BaseModel):
    models: list["ListModelsModels"]


class ListModelsModels(BaseModel):
    id: str
    name: str
    description: Optional[str]
    family: ModelFamily
    native_width: int = Field(alias="nativeWidth")
    native_height: int = Field(alias="nativeHeight")
    max_width: int = Field(alias="maxWidth")
    max_height: int = Field(alias="maxHeight")
    default_steps: int = Field(alias="defaultSteps")
    max_steps: int = Field(alias="maxSteps")
    modes: list[GenerationMode]
    schedulers: list[Scheduler]
    supports_clones: bool = Field(alias="supportsClones")
    credits_per_image: int = Field(alias="creditsPerImage")
    batch_credits_per_image: int = Field(alias="batchCreditsPerImage")
    state: ModelState
    is_default: bool = Field(alias="isDefault")


ListModels.model_rebuild()
