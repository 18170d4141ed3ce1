from datetime import datetime
from typing import Literal, Union

from pydantic import Field

from .base_model import BaseModel
from .enums import ErrorCode
from .fragments import (
    JobFields,
    JobFieldsImages,  # noqa: F401
)


class Generate(BaseModel):
    generate: Union[
        "GenerateGenerateJob",
        "GenerateGenerateInvalidInput",
        "GenerateGenerateInsufficientCredits",
        "GenerateGenerateRateLimited",
        "GenerateGenerateNotAuthenticated",
        "GenerateGenerateForbidden",
        "GenerateGenerateNotFound",
        "GenerateGenerateConflict",
        "GenerateGenerateSpendLimitReached",
    ] = Field(discriminator="typename__")


class GenerateGenerateJob(JobFields):
    typename__: Literal["Job"] = Field(alias="__typename")


class GenerateGenerateInvalidInput(BaseModel):
    typename__: Literal["InvalidInput"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    fields: list[str]
    errors: list["GenerateGenerateInvalidInputErrors"]


class GenerateGenerateInvalidInputErrors(BaseModel):
    field: str
    message: str


class GenerateGenerateInsufficientCredits(BaseModel):
    typename__: Literal["InsufficientCredits"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    required: int
    available: int


class GenerateGenerateRateLimited(BaseModel):
    typename__: Literal["RateLimited"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    retry_after_seconds: float = Field(alias="retryAfterSeconds")


class GenerateGenerateNotAuthenticated(BaseModel):
    typename__: Literal["NotAuthenticated"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class GenerateGenerateForbidden(BaseModel):
    typename__: Literal["Forbidden"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class GenerateGenerateNotFound(BaseModel):
    typename__: Literal["NotFound"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class GenerateGenerateConflict(BaseModel):
    typename__: Literal["Conflict"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class GenerateGenerateSpendLimitReached(BaseModel):
    typename__: Literal["SpendLimitReached"] = Field(alias="__typename")
    code: ErrorCode
    message: str
    limit: int
    spent: int
    resets_at: datetime = Field(alias="resetsAt")


Generate.model_rebuild()
GenerateGenerateInvalidInput.model_rebuild()
