"""Webhook endpoints, their delivery log, test events and redeliveries.

A signed-in session, or an API key with the WEBHOOKS scope. Resolvers are thin: the rules
live in neurall.webhooks (endpoints, deliveries); secrets are returned only by create and
rotate, once.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from neurall import clock
from neurall.accounts.viewer import Scope, Viewer
from neurall.audit import AuditEventType
from neurall.errors import DomainError
from neurall.graphql.context import Info
from neurall.graphql.deleted import Deleted, DeleteResult
from neurall.graphql.errors import (
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PublicError,
    RateLimited,
    returns_user_errors,
)
from neurall.graphql.pagination import PageInfo, clamp_first, page_info
from neurall.graphql.permissions import require_scope
from neurall.orm import webhooks as orm
from neurall.orm.pages import cursor_of
from neurall.webhooks import deliveries, endpoints
from neurall.webhooks.events import EventType


@strawberry.enum(description="What a webhook endpoint can be told about.")
class WebhookEventType(Enum):
    JOB_STARTED = "JOB_STARTED"
    JOB_PROGRESS = strawberry.enum_value(
        "JOB_PROGRESS", description="At most one per second per job."
    )
    JOB_SUCCEEDED = "JOB_SUCCEEDED"
    JOB_FAILED = "JOB_FAILED"
    JOB_CANCELED = "JOB_CANCELED"
    CLONE_READY = "CLONE_READY"
    CLONE_FAILED = "CLONE_FAILED"
    CREDITS_LOW = strawberry.enum_value(
        "CREDITS_LOW",
        description="The account's spendable credits fell below its low-credit threshold.",
    )
    WEBHOOK_TEST = strawberry.enum_value(
        "WEBHOOK_TEST",
        description="sendTestWebhook's event (an addition to the contract); not subscribable.",
    )


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="A URL the account's events are sent to, signed.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    description: str | None
    events: list[WebhookEventType]
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why the server turned it off (410 Gone, failing for too long), if it did."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, endpoint: orm.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            description=endpoint.description,
            events=[WebhookEventType(e.name) for e in endpoints.event_types(endpoint)],
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            created_at=endpoint.created_at,
        )


@strawberry.type(description="A new endpoint, or a rotated one, with its secret shown once.")
class CreatedWebhookEndpoint:
    endpoint: WebhookEndpoint
    secret: str = strawberry.field(
        description="The signing secret (whsec_...). Returned once; never shown again."
    )


@strawberry.input(description="A new webhook endpoint.")
class WebhookEndpointInput:
    url: str = strawberry.field(
        description="https:// (http:// only where the server allows it); never a private or "
        "loopback address."
    )
    events: list[WebhookEventType]
    description: str | None = None


@strawberry.input(description="Fields left out keep their value.")
class WebhookEndpointUpdateInput:
    url: str | None = None
    events: list[WebhookEventType] | None = None
    description: str | None = None
    enabled: bool | None = None


@strawberry.type(description="One event sent (or being sent) to one endpoint. No bodies.")
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_id: str = strawberry.field(
        description="The webhook-id header: the same for every attempt of one event."
    )
    event_type: WebhookEventType
    status: WebhookDeliveryStatus
    attempts: int
    response_status: int | None = strawberry.field(
        description="HTTP status of the last attempt; null if it never got an answer."
    )
    duration_ms: int | None
    next_attempt_at: datetime | None
    created_at: datetime
    last_attempt_at: datetime | None

    @classmethod
    def from_model(cls, row: orm.WebhookDelivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(row.id)),
            endpoint_id=strawberry.ID(str(row.endpoint_id)),  # type: ignore[attr-defined]
            event_id=row.event_id,
            event_type=WebhookEventType(row.event_type),
            status=WebhookDeliveryStatus(row.status.value),
            attempts=row.attempts,
            response_status=row.response_status,
            duration_ms=row.duration_ms,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDelivery


@strawberry.type(description="A page of an endpoint's deliveries, newest first.")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo


CreateWebhookEndpointResult = Annotated[
    CreatedWebhookEndpoint | InvalidInput | NotAuthenticated | Forbidden | NotFound | RateLimited,
    strawberry.union("CreateWebhookEndpointResult"),
]
WebhookEndpointResult = Annotated[
    WebhookEndpoint | InvalidInput | NotAuthenticated | Forbidden | NotFound,
    strawberry.union("WebhookEndpointResult"),
]
WebhookDeliveryResult = Annotated[
    WebhookDelivery | NotAuthenticated | Forbidden | NotFound | RateLimited,
    strawberry.union("WebhookDeliveryResult"),
]


def _viewer(info: Info) -> Viewer:
    return require_scope(info, Scope.WEBHOOKS)


def _public(info: Info) -> Viewer:
    try:
        return _viewer(info)
    except DomainError as exc:
        raise PublicError(exc) from None


def _insecure(info: Info) -> bool:
    return info.context.services.settings.webhooks_allow_insecure_urls


def _types(events: list[WebhookEventType]) -> list[EventType]:
    return [EventType[e.value] for e in events]


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="The account's webhook endpoints, oldest first.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        viewer = _public(info)
        return [
            WebhookEndpoint.from_model(e) for e in await endpoints.list_endpoints(viewer.account)
        ]

    @strawberry.field(description="An endpoint's deliveries, newest first. No bodies are kept.")
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        first: int | None = 20,
        after: str | None = None,
        status: WebhookDeliveryStatus | None = None,
    ) -> WebhookDeliveryConnection:
        viewer = _public(info)
        try:
            rows, more = await deliveries.list_deliveries(
                viewer.account,
                str(endpoint_id),
                first=clamp_first(first),
                after=after,
                status=orm.DeliveryStatus(status.value) if status else None,
            )
        except DomainError as exc:
            raise PublicError(exc) from None
        edges = [
            WebhookDeliveryEdge(cursor=cursor_of(r), node=WebhookDelivery.from_model(r))
            for r in rows
        ]
        return WebhookDeliveryConnection(edges=edges, page_info=page_info(edges, more))


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Registers an endpoint (at most 10 per account); its secret is returned once."
    )
    @returns_user_errors
    async def create_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> CreateWebhookEndpointResult:
        viewer = _viewer(info)
        endpoint, secret = await endpoints.create_endpoint(
            viewer.account,
            input.url,
            _types(input.events),
            input.description,
            allow_insecure=_insecure(info),
            keyring=info.context.services.keyring,
        )
        await info.context.audit(
            AuditEventType.WEBHOOK_ENDPOINT_CREATED, webhook_endpoint_id=endpoint.id
        )
        return CreatedWebhookEndpoint(endpoint=WebhookEndpoint.from_model(endpoint), secret=secret)

    @strawberry.mutation(
        description="Changes an endpoint; enabled: true turns back on one the server disabled."
    )
    @returns_user_errors
    async def update_webhook_endpoint(
        self, info: Info, id: strawberry.ID, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpointResult:
        viewer = _viewer(info)
        changes = endpoints.EndpointChanges(
            url=input.url,
            events=_types(input.events) if input.events is not None else None,
            description=input.description,
            enabled=input.enabled,
        )
        endpoint = await endpoints.update_endpoint(
            viewer.account, str(id), changes, allow_insecure=_insecure(info)
        )
        return WebhookEndpoint.from_model(endpoint)

    @strawberry.mutation(description="Deletes an endpoint and its delivery log.")
    @returns_user_errors
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> DeleteResult:
        viewer = _viewer(info)
        count = await endpoints.delete_endpoint(viewer.account, str(id))
        await info.context.audit(AuditEventType.WEBHOOK_ENDPOINT_DELETED, webhook_endpoint_id=id)
        return Deleted(deleted_count=count)

    @strawberry.mutation(
        description="A new secret; the old one keeps signing beside it for 24 hours."
    )
    @returns_user_errors
    async def rotate_webhook_secret(
        self, info: Info, id: strawberry.ID
    ) -> CreateWebhookEndpointResult:
        viewer = _viewer(info)
        endpoint, secret = await endpoints.rotate_secret(
            viewer.account, str(id), clock.now(), info.context.services.keyring
        )
        await info.context.audit(
            AuditEventType.WEBHOOK_SECRET_ROTATED, webhook_endpoint_id=endpoint.id
        )
        return CreatedWebhookEndpoint(endpoint=WebhookEndpoint.from_model(endpoint), secret=secret)

    @strawberry.mutation(description="Sends a signed test event to the endpoint now.")
    @returns_user_errors
    async def send_test_webhook(self, info: Info, id: strawberry.ID) -> WebhookDeliveryResult:
        viewer = _viewer(info)
        await info.context.services.rate_limits.webhook_sends.take(viewer.account.id)
        return WebhookDelivery.from_model(await deliveries.send_test(viewer.account, str(id)))

    @strawberry.mutation(description="Sends the delivery's event again, with the same webhook-id.")
    @returns_user_errors
    async def redeliver_webhook(
        self, info: Info, delivery_id: strawberry.ID
    ) -> WebhookDeliveryResult:
        viewer = _viewer(info)
        await info.context.services.rate_limits.webhook_sends.take(viewer.account.id)
        delivery = await deliveries.redeliver(viewer.account, str(delivery_id))
        return WebhookDelivery.from_model(delivery)
