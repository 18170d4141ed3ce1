"""Every subscriber, in the order the relay hands an event to them. A new reaction is one
module beside these and one line here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from neurall.events.interest import Wanted
from neurall.events.subscriber import Subscriber
from neurall.events.types import EventType
from neurall.subscribers.account_mail import AccountMailSubscriber
from neurall.subscribers.context import SubscriberContext
from neurall.subscribers.notices import NoticeSubscriber
from neurall.subscribers.webhooks import WebhookSubscriber

SUBSCRIBERS: list[Callable[[SubscriberContext], Subscriber]] = [
    WebhookSubscriber,
    NoticeSubscriber,
    AccountMailSubscriber,
]


def build(context: SubscriberContext) -> list[Subscriber]:
    return [make(context) for make in SUBSCRIBERS]


def interest(subscribers: Sequence[Subscriber]) -> Wanted:
    """Whether any subscriber wants an on-demand event (neurall.events.interest)."""

    async def wanted(account_id: uuid.UUID, event_type: EventType) -> bool:
        for subscriber in subscribers:
            if await subscriber.wants(account_id, event_type):
                return True
        return False

    return wanted
