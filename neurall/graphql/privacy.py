"""usage, dataExport, requestDataExport and deleteAccount."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from neurall.accounts.viewer import Scope
from neurall.audit import AuditEventType
from neurall.clock import now
from neurall.errors import DomainError
from neurall.graphql.context import Info
from neurall.graphql.deleted import Deleted
from neurall.graphql.errors import (
    InvalidInput,
    NotAuthenticated,
    PublicError,
    RateLimited,
    returns_user_errors,
)
from neurall.graphql.generation.access import generation_runtime
from neurall.graphql.permissions import require_scope, require_signed_in
from neurall.orm import privacy as orm
from neurall.privacy import erasure, export, usage
from neurall.web.cookies import clear_session_cookie


@strawberry.type(description="API usage of one UTC day.")
class UsageDay:
    day: str = strawberry.field(description="YYYY-MM-DD (UTC).")
    requests: int
    images: int
    credits: int


@strawberry.enum(description="Where a data export is in its life.")
class ExportStatus(Enum):
    PENDING = "PENDING"
    READY = "READY"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


@strawberry.type(description="A zip of all the account's data.")
class DataExport:
    id: strawberry.ID
    status: ExportStatus
    url: str | None = strawberry.field(
        description="A zip of JSON and images, served to the owner until expiresAt."
    )
    expires_at: datetime | None

    @classmethod
    def from_model(cls, info: Info, row: orm.DataExport) -> DataExport:
        ready = row.status == orm.ExportStatus.READY
        base = info.context.services.settings.public_url
        return cls(
            id=strawberry.ID(str(row.id)),
            status=ExportStatus(row.status.value),
            url=f"{base}/exports/{row.id}" if ready else None,
            expires_at=row.expires_at,
        )


# Only a signed-in person may export or erase: an API key gets NotAuthenticated.
DataExportResult = Annotated[
    DataExport | NotAuthenticated | RateLimited, strawberry.union("DataExportResult")
]
DeleteAccountResult = Annotated[
    Deleted | NotAuthenticated | InvalidInput, strawberry.union("DeleteAccountResult")
]


@strawberry.type
class PrivacyQuery:
    @strawberry.field(description="The caller's API usage per day, oldest first.")
    async def usage(
        self, info: Info, since: datetime, until: datetime | None = None
    ) -> list[UsageDay]:
        try:
            viewer = require_scope(info, Scope.READ)
            # The caller's earlier requests may still wait in this process's usage buffer.
            await info.context.services.usage_log.flush()
            days = await usage.usage_days(viewer.account.id, since, until, now())
        except DomainError as exc:
            raise PublicError(exc) from None
        return [UsageDay(day=d.day, requests=d.requests, images=d.images, credits=d.credits)
                for d in days]  # fmt: skip

    @strawberry.field(description="Null unless the export exists and belongs to the caller.")
    async def data_export(self, info: Info, id: strawberry.ID) -> DataExport | None:
        try:
            viewer = require_signed_in(info)
        except DomainError as exc:
            raise PublicError(exc) from None
        row = await export.get_export(viewer.account, str(id))
        return DataExport.from_model(info, row) if row is not None else None


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(description="Starts building a zip of all the account's data.")
    @returns_user_errors
    async def request_data_export(self, info: Info) -> DataExportResult:
        viewer = require_signed_in(info)
        services = info.context.services
        row = await export.request_export(viewer.account, services.settings)
        if services.maintenance is None:
            raise RuntimeError("the maintenance queue is not running in this process")
        # So that usage.json has the rows still waiting in this process's buffer.
        await services.usage_log.flush()
        await services.maintenance.build_export(row.id)
        await info.context.audit(AuditEventType.DATA_EXPORT_REQUESTED, export_id=row.id)
        return DataExport.from_model(info, row)

    @strawberry.mutation(
        description="Erases the account's personal data; financial records are kept "
        "anonymised as the law requires."
    )
    @returns_user_errors
    async def delete_account(self, info: Info, password: str) -> DeleteAccountResult:
        viewer = require_signed_in(info)
        ctx = info.context
        runtime = generation_runtime(info)
        usage_log = ctx.services.usage_log
        # Written first, so that the erasure deletes them with the rest.
        await usage_log.flush()
        await erasure.delete_account(viewer.account, password, runtime, ctx.services.auth_throttle)
        # Requests that were in flight during the erasure must not write rows after it.
        await usage_log.discard_account(viewer.account.id)
        clear_session_cookie(ctx.response, ctx.request, ctx.services.settings)
        return Deleted(deleted_count=1)
