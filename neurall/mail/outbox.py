"""The outbox: one row per message to send, written in the transaction that decides it
(the relay's, for a subscriber reacting to a domain event), so a change that rolls back
sends nothing and one that commits is not lost.

A sender claims a row before sending (two senders never send one row at once), deletes it
once the SMTP server took the message, and releases it when sending failed so a retry can
claim it. Rows nobody sent for ``NEURALL_MAIL_OUTBOX_RETENTION_DAYS`` are deleted unsent
by the retention sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from tortoise.expressions import F, Q

from neurall import clock
from neurall.orm.mail import OutboxMessage

# Longer than one SMTP conversation takes; a sender that died holding a row lets go then.
CLAIM_S = 120


async def queue(
    kind: str,
    to_address: str,
    account_id: uuid.UUID | None,
    params: Mapping[str, object] | None = None,
    campaign_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write one message to send; call inside the transaction that makes the change."""
    row = await OutboxMessage.create(
        kind=kind,
        to_address=to_address,
        account_id=account_id,
        params=dict(params or {}),
        campaign_id=campaign_id,
    )
    return row.id


async def claim(message_id: uuid.UUID, now: datetime | None = None) -> OutboxMessage | None:
    """The row, now held by the caller for CLAIM_S; None when it was sent already or
    another sender holds it."""
    now = now or clock.now()
    claimed = await OutboxMessage.filter(
        Q(id=message_id) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    ).update(claimed_until=now + timedelta(seconds=CLAIM_S), attempts=F("attempts") + 1)
    if not claimed:
        return None
    return await OutboxMessage.get_or_none(id=message_id)


async def finish(message_id: uuid.UUID) -> None:
    """The SMTP server took it, or it is no longer wanted: the row (and what it says about
    the recipient) goes."""
    await OutboxMessage.filter(id=message_id).delete()


async def release(message_id: uuid.UUID) -> None:
    """Sending failed: let the next attempt claim the row at once."""
    await OutboxMessage.filter(id=message_id).update(claimed_until=None)


async def unclaimed_before(cutoff: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Rows queued before ``cutoff`` that nobody holds: their send was lost (a process
    died between commit and enqueue, or the retries ran out) and is due again."""
    now = clock.now()
    return await (
        OutboxMessage.filter(
            Q(created_at__lt=cutoff) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        )
        .order_by("created_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
