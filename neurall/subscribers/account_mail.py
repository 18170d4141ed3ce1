"""The confirmation link: accounts issued the token and recorded the event; this sends it.

The outbox row holds the token row's id, never the token; the link is rendered when the
row is sent (neurall.mail.account_links), to the address the token was issued for.
"""

from __future__ import annotations

import uuid

from neurall.events.subscriber import AfterCommit
from neurall.events.types import EventType
from neurall.mail import outbox
from neurall.mail.account_links import VERIFY_KIND
from neurall.orm.events import DomainEvent
from neurall.orm.mail import EmailToken
from neurall.subscribers.context import SubscriberContext


class AccountMailSubscriber:
    name = "account_mail"
    types = frozenset({EventType.EMAIL_VERIFICATION_ISSUED})

    def __init__(self, context: SubscriberContext) -> None:
        self._mail = context.mail

    async def handle(self, event: DomainEvent, event_type: EventType) -> AfterCommit | None:
        token = await EmailToken.get_or_none(id=uuid.UUID(str(event.payload["token_id"])))
        if token is None:
            return None  # the account was erased since
        message_id = await outbox.queue(
            VERIFY_KIND,
            token.email,
            event.account_id,
            {"token_id": str(token.id), "change": bool(event.payload.get("change"))},
        )

        async def wake() -> None:
            await self._mail.dispatch([message_id])

        return wake

    async def wants(self, account_id: uuid.UUID, event_type: EventType) -> bool:
        return False
