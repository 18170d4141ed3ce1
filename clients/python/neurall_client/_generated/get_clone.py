from typing import Optional

from .base_model import BaseModel
from .fragments import CloneFields


class GetClone(BaseModel):
    clone: Optional["GetCloneClone"]


GetCloneClone = CloneFields
GetClone.model_rebuild()
