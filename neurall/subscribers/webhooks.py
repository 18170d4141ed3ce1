"""Webhooks: a domain event becomes one pending delivery per subscribed endpoint.

The delivery's webhook-id is the domain event's id, and its body is built when it is sent
from the subject's public fields (neurall.webhooks.events), exactly as before events
existed; the delivery actor keeps its own retry schedule.
"""

from __future__ import annotations

import uuid

from neurall.events.subscriber import AfterCommit
from neurall.events.types import EventType
from neurall.orm.events import DomainEvent
from neurall.subscribers.context import SubscriberContext
from neurall.webhooks import outbox
from neurall.webhooks.dispatch import dispatch_soon
from neurall.webhooks.events import SUBSCRIBABLE
from neurall.webhooks.events import EventType as WebhookEventType

# Domain events with a webhook of the same name.
_WEBHOOK = {
    event: webhook for event in EventType for webhook in SUBSCRIBABLE if webhook.name == event.name
}


class WebhookSubscriber:
    name = "webhooks"
    types = frozenset(_WEBHOOK)

    def __init__(self, _context: SubscriberContext) -> None:
        pass

    async def handle(self, event: DomainEvent, event_type: EventType) -> AfterCommit | None:
        webhook_type = _WEBHOOK.get(event_type)
        if webhook_type is None or event.account_id is None:
            return None
        step = event.payload.get("step")
        delivery_ids = await outbox.record(
            event.account_id,
            webhook_type,
            # Account events name no subject in their body, as before.
            subject_id=None if webhook_type == WebhookEventType.CREDITS_LOW else event.subject_id,
            step=int(step) if step is not None else None,
            occurred_at=event.occurred_at,
            event_id=outbox.new_event_id(event.id),
        )

        async def wake() -> None:
            dispatch_soon(delivery_ids)

        return wake if delivery_ids else None

    async def wants(self, account_id: uuid.UUID, event_type: EventType) -> bool:
        webhook_type = _WEBHOOK.get(event_type)
        return webhook_type is not None and await outbox.subscribed(account_id, webhook_type)
