"""The mail actor: ``send_mail(message_id)`` sends one outbox row.

``send_mail`` is retried with exponential backoff (NEURALL_MAIL_MIN_BACKOFF_MS up to
NEURALL_MAIL_MAX_BACKOFF_MS, NEURALL_MAIL_MAX_RETRIES times) while the SMTP server does
not take the message. After that, or when a process died between a commit and its
enqueue, the row waits in the outbox and ``MailQueue.relay``, run with every retention
sweep, queues it again; rows still unsent after NEURALL_MAIL_OUTBOX_RETENTION_DAYS are deleted.
A row is claimed before it is sent, so two deliveries of one message never both send it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import dramatiq

from neurall import clock
from neurall.config import Settings
from neurall.mail import account_links, notices, outbox
from neurall.mail.delivery import Mailer, Templates
from neurall.mail.senders import SendError, make_sender
from neurall.marketing import templates as marketing_templates

log = logging.getLogger(__name__)

MAIL_QUEUE = "mail"
SEND_ACTOR = "send_mail"
# A row this old and unclaimed lost its send: its actor message is gone or spent.
RELAY_AFTER = timedelta(minutes=10)


def all_templates() -> Templates:
    """Every kind of message, from the packages that own them."""
    return {
        **account_links.TEMPLATES,
        **notices.TEMPLATES,
        **marketing_templates.TEMPLATES,
    }


def build_mailer(settings: Settings) -> Mailer:
    return Mailer(settings=settings, sender=make_sender(settings), templates=all_templates())


@dataclass
class MailQueue:
    """The API process's MailDispatch: one ``send_mail`` message per row, after commit."""

    send_actor: dramatiq.Actor

    async def dispatch(self, message_ids: Sequence[uuid.UUID], *, delay_ms: int = 0) -> None:
        for message_id in message_ids:
            try:
                # pika is blocking: publish off the loop.
                await asyncio.to_thread(
                    self.send_actor.send_with_options,
                    args=(str(message_id),),
                    delay=delay_ms or None,
                )
            except Exception:
                # The row is committed: the relay sends it later.
                log.warning("could not queue e-mail %s; the relay will", message_id)

    async def relay(self) -> int:
        """Queue again the rows whose send was lost; returns how many."""
        stale = await outbox.unclaimed_before(clock.now() - RELAY_AFTER)
        await self.dispatch(stale)
        return len(stale)


def declare_mail_actors(broker: dramatiq.Broker, settings: Settings) -> MailQueue:
    mailer = build_mailer(settings)

    async def send_mail(message_id: str) -> None:
        await mailer.deliver(uuid.UUID(message_id))

    send = dramatiq.Actor(
        send_mail,
        broker=broker,
        actor_name=SEND_ACTOR,
        queue_name=MAIL_QUEUE,
        priority=0,
        options={
            "max_retries": settings.mail_max_retries,
            "min_backoff": settings.mail_min_backoff_ms,
            "max_backoff": settings.mail_max_backoff_ms,
            "time_limit": 5 * 60 * 1000,
            # Only a server that did not take the message is worth trying again; anything
            # else is a bug, and the relay tries the row again later anyway.
            "retry_when": lambda retries, exc: (
                isinstance(exc, SendError) and retries < settings.mail_max_retries
            ),
        },
    )
    return MailQueue(send_actor=send)
