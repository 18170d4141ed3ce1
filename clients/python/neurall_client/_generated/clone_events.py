from pydantic import Field

from .base_model import BaseModel
from .fragments import CloneFields


class CloneEvents(BaseModel):
    clone_events: "CloneEventsCloneEvents" = Field(alias="cloneEvents")


CloneEventsCloneEvents = CloneFields
CloneEvents.model_rebuild()
