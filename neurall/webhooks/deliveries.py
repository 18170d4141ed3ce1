"""The delivery log as its owner sees it, and the deliveries its owner asks for: a test
event, and an event sent again with the same webhook-id."""

from __future__ import annotations

import uuid

from neurall import clock
from neurall.errors import NotFoundError
from neurall.ids import parse_id
from neurall.orm.accounts import Account
from neurall.orm.pages import newest_first
from neurall.orm.webhooks import DeliveryStatus, WebhookDelivery
from neurall.webhooks.dispatch import dispatch_soon
from neurall.webhooks.endpoints import own_endpoint
from neurall.webhooks.events import EventType
from neurall.webhooks.outbox import new_event_id


async def list_deliveries(
    account: Account,
    endpoint_id: str,
    *,
    first: int,
    after: str | None,
    status: DeliveryStatus | None,
) -> tuple[list[WebhookDelivery], bool]:
    """A page of the endpoint's deliveries, newest first (NotFoundError if not the
    caller's endpoint)."""
    endpoint = await own_endpoint(account, endpoint_id)
    query = WebhookDelivery.filter(endpoint_id=endpoint.id, account_id=account.id)
    if status is not None:
        query = query.filter(status=status)
    return await newest_first(query, first, after)


async def send_test(account: Account, endpoint_id: str) -> WebhookDelivery:
    """A signed webhook.test event to the endpoint now (one attempt)."""
    endpoint = await own_endpoint(account, endpoint_id)
    now = clock.now()
    delivery = await WebhookDelivery.create(
        id=uuid.uuid4(),
        endpoint_id=endpoint.id,
        account_id=account.id,
        event_id=new_event_id(),
        event_type=EventType.WEBHOOK_TEST.name,
        occurred_at=now,
        next_attempt_at=now,
        manual=True,
    )
    dispatch_soon([delivery.id])
    return delivery


async def redeliver(account: Account, delivery_id: str) -> WebhookDelivery:
    """The delivery's event once more, as a new log row with the same webhook-id."""
    parsed = parse_id(delivery_id)
    original = (
        await WebhookDelivery.get_or_none(id=parsed, account_id=account.id) if parsed else None
    )
    if original is None:
        raise NotFoundError("No such webhook delivery.")
    now = clock.now()
    delivery = await WebhookDelivery.create(
        id=uuid.uuid4(),
        endpoint_id=original.endpoint_id,  # type: ignore[attr-defined]
        account_id=account.id,
        event_id=original.event_id,
        event_type=original.event_type,
        subject_id=original.subject_id,
        step=original.step,
        occurred_at=original.occurred_at,
        next_attempt_at=now,
        manual=True,
    )
    dispatch_soon([delivery.id])
    return delivery
