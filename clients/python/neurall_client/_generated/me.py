from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class Me(BaseModel):
    me: Optional["MeMe"]


class MeMe(BaseModel):
    id: str
    email: str
    credits: int
    held_credits: int = Field(alias="heldCredits")


Me.model_rebuild()
