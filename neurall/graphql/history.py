"""history, deleteHistoryItem and clearHistory: the playground's kept jobs."""

from __future__ import annotations

from datetime import datetime

import strawberry

from neurall.errors import DomainError
from neurall.graphql.context import Info
from neurall.graphql.deleted import Deleted, DeleteResult
from neurall.graphql.errors import PublicError, returns_user_errors
from neurall.graphql.generation.access import generation_runtime
from neurall.graphql.generation.types import Job, job_types
from neurall.graphql.pagination import PageInfo, clamp_first, page_info
from neurall.graphql.permissions import require_session
from neurall.history import service
from neurall.orm import jobs as orm
from neurall.orm.pages import cursor_of


@strawberry.type(description="A playground job kept with its parameters and images.")
class HistoryItem:
    id: strawberry.ID
    job: Job
    created_at: datetime


@strawberry.type
class HistoryEdge:
    cursor: str
    node: HistoryItem


@strawberry.type(description="A page of history, newest first.")
class HistoryConnection:
    edges: list[HistoryEdge]
    page_info: PageInfo


def _item(job: orm.Job, node: Job) -> HistoryEdge:
    item = HistoryItem(id=strawberry.ID(str(job.id)), job=node, created_at=job.created_at)
    return HistoryEdge(cursor=cursor_of(job), node=item)


@strawberry.type
class HistoryQuery:
    @strawberry.field(description="The playground's jobs with their images, newest first.")
    async def history(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> HistoryConnection:
        try:
            viewer = require_session(info)
            rows, more = await service.history_page(viewer.account.id, clamp_first(first), after)
        except DomainError as exc:
            raise PublicError(exc) from None
        edges = [
            _item(job, node) for job, node in zip(rows, await job_types(info, rows), strict=True)
        ]
        return HistoryConnection(
            edges=edges,
            page_info=page_info(edges, more),
        )


@strawberry.type
class HistoryMutation:
    @strawberry.mutation(description="Deletes one history item and its images.")
    @returns_user_errors
    async def delete_history_item(self, info: Info, id: strawberry.ID) -> DeleteResult:
        viewer = require_session(info)
        runtime = generation_runtime(info)
        count = await service.delete_history_item(viewer.account, str(id), runtime, runtime.storage)
        return Deleted(deleted_count=count)

    @strawberry.mutation(description="Deletes every history item and its images.")
    @returns_user_errors
    async def clear_history(self, info: Info) -> DeleteResult:
        viewer = require_session(info)
        runtime = generation_runtime(info)
        count = await service.clear_history(viewer.account, runtime, runtime.storage)
        return Deleted(deleted_count=count)
