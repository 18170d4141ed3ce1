"""Recording events as pending deliveries: the transactional outbox.

The webhook subscriber (neurall.subscribers.webhooks) calls ``record`` for each domain event
inside the relay's transaction, so a delivery exists exactly when the relay noted the
event handled. After the commit it hands the ids to ``dispatch.dispatch_soon`` (a
fire-and-forget enqueue off the relay's path); deliveries whose wake-up message was lost
are found again by ``neurall.webhooks.delivery.overdue``.

Nothing here reads a request: a delivery names its subject by id, and the body is built
from the subject's public fields when it is sent (neurall.webhooks.events).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from neurall import clock
from neurall.orm.webhooks import WebhookDelivery, WebhookEndpoint
from neurall.webhooks.events import EventType


def new_event_id(domain_event_id: uuid.UUID | None = None) -> str:
    """A webhook-id: unique per event, kept by every attempt and redelivery; the domain
    event's own id when there is one."""
    return f"msg_{(domain_event_id or uuid.uuid4()).hex}"


async def record(
    account_id: uuid.UUID,
    event_type: EventType,
    *,
    subject_id: uuid.UUID | None = None,
    step: int | None = None,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> list[uuid.UUID]:
    """A pending delivery of one event to each of the account's enabled endpoints that
    subscribed to ``event_type``; their ids (none when nobody listens)."""
    endpoints = await WebhookEndpoint.filter(account_id=account_id, enabled=True).values_list(
        "id", "events"
    )
    wanted = [eid for eid, events in endpoints if event_type.name in events.split()]
    if not wanted:
        return []
    event_id = event_id or new_event_id()
    when = occurred_at or clock.now()
    rows = [
        WebhookDelivery(
            id=uuid.uuid4(),
            endpoint_id=endpoint_id,
            account_id=account_id,
            event_id=event_id,
            event_type=event_type.name,
            subject_id=subject_id,
            step=step,
            occurred_at=when,
            next_attempt_at=when,
        )
        for endpoint_id in wanted
    ]
    await WebhookDelivery.bulk_create(rows)
    return [row.id for row in rows]


async def subscribed(account_id: uuid.UUID, event_type: EventType) -> bool:
    """Whether any enabled endpoint of the account wants ``event_type``."""
    rows = await WebhookEndpoint.filter(account_id=account_id, enabled=True).values_list(
        "events", flat=True
    )
    return any(event_type.name in events.split() for events in rows)
