from pydantic import Field

from .base_model import BaseModel


class EstimateCost(BaseModel):
    estimate_cost: int = Field(alias="estimateCost")
