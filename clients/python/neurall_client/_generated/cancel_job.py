from typing import Literal, Union

from pydantic import Field

from .base_model import BaseModel
from .enums import ErrorCode
from .fragments import (
    JobFields,
    JobFieldsImages,  # noqa: F401
)


class CancelJob(BaseModel):
    cancel_job: Union[
        "CancelJobCancelJobJob",
        "CancelJobCancelJobNotFound",
        "CancelJobCancelJobConflict",
        "CancelJobCancelJobNotAuthenticated",
        "CancelJobCancelJobForbidden",
    ] = Field(alias="cancelJob", discriminator="typename__")


class CancelJobCancelJobJob(JobFields):
    typename__: Literal["Job"] = Field(alias="__typename")


class CancelJobCancelJobNotFound(BaseModel):
    typename__: Literal["NotFound"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class CancelJobCancelJobConflict(BaseModel):
    typename__: Literal["Conflict"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class CancelJobCancelJobNotAuthenticated(BaseModel):
    typename__: Literal["NotAuthenticated"] = Field(alias="__typename")
    code: ErrorCode
    message: str


class CancelJobCancelJobForbidden(BaseModel):
    typename__: Literal["Forbidden"] = Field(alias="__typename")
    code: ErrorCode
    message: str


CancelJob.model_rebuild()
