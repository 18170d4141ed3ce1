"""Sending one outbox row: claim it, render it, hand it to the sender, delete it.

Templates are looked up by the row's ``kind`` in a table the workers layer assembles from
the domain packages (each package renders its own messages). A template may return None:
the message is no longer wanted (marketing to an account that opted out since) and the
row goes unsent.

Delivery is at least once: a process that dies after the SMTP server took the message
but before the row is deleted sends it again on the next attempt.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from neurall.config import Settings
from neurall.mail import outbox
from neurall.mail.message import Rendered, compose
from neurall.mail.senders import Sender, SendError
from neurall.orm.mail import OutboxMessage

log = logging.getLogger(__name__)

Template = Callable[[OutboxMessage, Settings], Awaitable[Rendered | None]]
Templates = Mapping[str, Template]


class Outcome(Enum):
    SENT = "sent"
    DROPPED = "dropped"  # no longer wanted, or a kind nobody renders
    GONE = "gone"  # sent already, erased, or another sender holds it


@dataclass(frozen=True)
class Mailer:
    """Everything needed to send a row: built once per process."""

    settings: Settings
    sender: Sender
    templates: Templates

    async def deliver(self, message_id: uuid.UUID) -> Outcome:
        """Send one row. Raises SendError (row released) when the server did not take it,
        so the caller's retry with backoff tries again."""
        row = await outbox.claim(message_id)
        if row is None:
            return Outcome.GONE
        template = self.templates.get(row.kind)
        if template is None:
            log.error("no template for e-mail kind %s; message %s dropped", row.kind, row.id)
            await outbox.finish(row.id)
            return Outcome.DROPPED
        rendered = await template(row, self.settings)
        if rendered is None:
            await outbox.finish(row.id)
            return Outcome.DROPPED
        message = compose(rendered, row.to_address, self.settings)
        try:
            await self.sender.send(message, f"{row.kind}-{row.id.hex[:12]}")
        except SendError as exc:
            await outbox.release(row.id)
            log.warning(
                "e-mail %s (%s) not sent, attempt %d: %s", row.id, row.kind, row.attempts, exc
            )
            raise
        await outbox.finish(row.id)
        log.info("e-mail %s (%s) sent", row.id, row.kind)
        return Outcome.SENT
