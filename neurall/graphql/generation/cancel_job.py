"""The cancelJob mutation."""

from __future__ import annotations

from typing import Annotated

import strawberry

from neurall.generation import service
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    returns_user_errors,
)
from neurall.graphql.generation.access import generate_viewer, generation_runtime
from neurall.graphql.generation.types import Job, job_type

CancelJobResult = Annotated[
    Job | NotFound | Conflict | NotAuthenticated | Forbidden, strawberry.union("CancelJobResult")
]


@strawberry.type
class CancelJobMutation:
    @strawberry.mutation(
        description="Cancels a queued or running job; unused held credits are released."
    )
    @returns_user_errors
    async def cancel_job(self, info: Info, id: strawberry.ID) -> CancelJobResult:
        viewer = generate_viewer(info)
        return await job_type(
            info, await service.cancel(viewer.account, str(id), generation_runtime(info))
        )
