"""E-mail notices: the events an account's owner is told about by e-mail.

Whether a notice goes out is decided when the event is relayed: the account's notice
switches (neurall.mail.notices) as they are then, and no notice to an erased account.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from neurall.events.subscriber import AfterCommit
from neurall.events.types import EventType
from neurall.mail import notices
from neurall.orm.accounts import Account, ApiKey
from neurall.orm.clones import Clone
from neurall.orm.events import DomainEvent
from neurall.subscribers.context import SubscriberContext

_NOTICE = {
    EventType.CLONE_READY: notices.Notice.CLONE_READY,
    EventType.CLONE_FAILED: notices.Notice.CLONE_FAILED,
    EventType.CREDITS_LOW: notices.Notice.LOW_CREDITS,
    EventType.CREDITS_PURCHASED: notices.Notice.RECEIPT,
    EventType.API_KEY_CREATED: notices.Notice.API_KEY_CREATED,
    EventType.PASSWORD_CHANGED: notices.Notice.PASSWORD_CHANGED,
    EventType.EMAIL_CHANGE_REQUESTED: notices.Notice.EMAIL_CHANGE_REQUESTED,
}


class NoticeSubscriber:
    name = "notices"
    types = frozenset(_NOTICE)

    def __init__(self, context: SubscriberContext) -> None:
        self._mail = context.mail

    async def handle(self, event: DomainEvent, event_type: EventType) -> AfterCommit | None:
        notice = _NOTICE.get(event_type)
        if notice is None or event.account_id is None:
            return None
        account = await Account.get_or_none(id=event.account_id)
        params = await _params(event, event_type)
        if account is None or params is None:
            return None
        message_id = await notices.queue(account, notice, params)
        if message_id is None:
            return None

        async def wake() -> None:
            await self._mail.dispatch([message_id])

        return wake

    async def wants(self, account_id: uuid.UUID, event_type: EventType) -> bool:
        return False  # no notice for an on-demand event


async def _params(event: DomainEvent, event_type: EventType) -> Mapping[str, object] | None:
    """The notice's values; None when its subject is gone (nobody to tell about it)."""
    match event_type:
        case EventType.CLONE_READY | EventType.CLONE_FAILED:
            clone = await Clone.get_or_none(id=event.subject_id)
            return {"name": clone.name} if clone is not None else None
        case EventType.API_KEY_CREATED:
            key = await ApiKey.get_or_none(id=event.subject_id)
            return {"name": key.name} if key is not None else None
    return dict(event.payload)
