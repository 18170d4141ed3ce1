from typing import Literal, Union

from pydantic import Field

from .base_model import BaseModel
from .enums import ErrorCode
from .fragments import CloneFields


class CreateClone(BaseModel):
    create_clone: Union[
        "CreateCloneCreateCloneClone",
        "CreateCloneCreateCloneInvalidInput",
        "CreateCloneCreateCloneInsufficientCredits",
        "CreateCloneCreateCloneNotAuthenticated",
        "CreateCloneCreateCloneForbidden",
        "CreateCloneCreateCloneRateLimited",
    ] = Field(alias="createClone", discriminator="typename__")


class CreateCloneCreateCloneClone(CloneFields):
    typename__: Literal["Clone"] = Field(alias="__typename")


class CreateCloneCreateCloneInvalidInput(BaseModel):
    typename__: Literal["InvalidInput"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    fields: list[str]
    errors: list["CreateCloneCreateCloneInvalidInputErrors"]


class CreateCloneCreateCloneInvalidInputErrors(BaseModel):
    field: str
    message: str


class CreateCloneCreateCloneInsufficientCredits(BaseModel):
    typename__: Literal["InsufficientCredits"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    required: int
    available: int


class CreateCloneCreateCloneNotAuthenticated(BaseModel):
    typename__: Literal["NotAuthenticated"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class CreateCloneCreateCloneForbidden(BaseModel):
    typename__: Literal["Forbidden"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class CreateCloneCreateCloneRateLimited(BaseModel):
    typename__: Literal["RateLimited"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    retry_after_seconds: float = Field(alias="retryAfterSeconds")


CreateClone.model_rebuild()
CreateCloneCreateCloneInvalidInput.model_rebuild()
