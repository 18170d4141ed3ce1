"""job, jobs and estimateCost."""

from __future__ import annotations

import strawberry

from neurall.errors import DomainError
from neurall.generation import service
from neurall.graphql.context import Info
from neurall.graphql.errors import PublicError
from neurall.graphql.generation.access import generation_runtime, public_viewer
from neurall.graphql.generation.enums import JobStatus
from neurall.graphql.generation.inputs import GenerateInput
from neurall.graphql.generation.types import Job, JobConnection, JobEdge, job_type, job_types
from neurall.graphql.pagination import clamp_first, page_info
from neurall.orm.pages import cursor_of


@strawberry.type
class GenerationQuery:
    @strawberry.field(description="Null unless the job exists and belongs to the caller.")
    async def job(self, info: Info, id: strawberry.ID) -> Job | None:
        viewer = public_viewer(info)
        job = await service.get_job(viewer.account, str(id))
        return await job_type(info, job) if job is not None else None

    @strawberry.field(description="The caller's jobs, newest first.")
    async def jobs(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: JobStatus | None = None,
    ) -> JobConnection:
        viewer = public_viewer(info)
        try:
            rows, more = await service.list_jobs(
                viewer.account, first=clamp_first(first), after=after, status=status
            )
        except DomainError as exc:
            raise PublicError(exc) from None
        edges = [
            JobEdge(cursor=cursor_of(job), node=node)
            for job, node in zip(rows, await job_types(info, rows), strict=True)
        ]
        return JobConnection(edges=edges, page_info=page_info(edges, more))

    @strawberry.field(description="What generate would hold for this input, in credits.")
    async def estimate_cost(self, info: Info, input: GenerateInput) -> int:
        public_viewer(info)
        try:
            params = await input.to_request(
                info.context.services.settings, info.context.services.catalog
            )
        except DomainError as exc:
            raise PublicError(exc) from None
        return service.estimate_cost(params, generation_runtime(info), input.lane())
