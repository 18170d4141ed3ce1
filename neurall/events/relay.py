"""The relay: hands each committed event to every subscriber, at least once, and the
events of one subject in the order they happened.

A relay claims the oldest event of the subject still waiting, hands it to each subscriber
that has not handled it (each in a transaction that also notes it handled it, so a
redelivered event repeats no subscriber's effects), deletes it, and goes on with the
subject's next event. A relay that died holding an event lets go after ``CLAIM_S``; the
sweep (``left_behind``, run by the maintenance tick) relays what was left behind then.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from neurall import clock
from neurall.events.subscriber import AfterCommit, Subscriber
from neurall.events.types import EventType
from neurall.orm.events import DomainEvent

log = logging.getLogger(__name__)

# Longer than any subscriber takes to write its rows; a relay that died lets go then.
CLAIM_S = 60


async def relay(event_id: uuid.UUID, subscribers: Sequence[Subscriber]) -> int:
    """Relay the subject of ``event_id``'s waiting events, oldest first, up to and past
    this one; how many. Stops at an event another relay holds: that relay goes on."""
    event = await DomainEvent.get_or_none(id=event_id)
    if event is None:
        return 0  # relayed already, or not committed yet (then the sweep finds it)
    relayed = 0
    while True:
        oldest = await (
            DomainEvent.filter(subject_id=event.subject_id).order_by("occurred_at", "id").first()
        )
        if oldest is None or not await _claim(oldest.id):
            return relayed
        claimed = await DomainEvent.get_or_none(id=oldest.id)
        if claimed is None:
            return relayed
        await _hand_on(claimed, subscribers)
        await DomainEvent.filter(id=claimed.id).delete()
        relayed += 1


async def _claim(event_id: uuid.UUID) -> bool:
    now = clock.now()
    return bool(
        await DomainEvent.filter(
            Q(id=event_id) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        ).update(claimed_until=now + timedelta(seconds=CLAIM_S))
    )


async def _hand_on(event: DomainEvent, subscribers: Sequence[Subscriber]) -> None:
    try:
        event_type = EventType[event.type]
    except KeyError:
        log.error("event %s has an unknown type %s: dropped", event.id, event.type)
        return
    handled = event.handled_by.split()
    for subscriber in subscribers:
        if event_type not in subscriber.types or subscriber.name in handled:
            continue
        # Shielded: a cancellation (the embedded queue's shutdown cancels actors in flight)
        # lets this short transaction finish. Cancelled between taking the connection's
        # lock and its BEGIN, Tortoise never releases the lock, and on SQLite every later
        # query of the process then waits forever.
        after = await asyncio.shield(_handle(subscriber, event, event_type, handled))
        handled.append(subscriber.name)
        if after is not None:
            try:
                await after()
            except Exception:
                log.warning("%s: could not wake its queue", subscriber.name, exc_info=True)


async def _handle(
    subscriber: Subscriber, event: DomainEvent, event_type: EventType, handled: list[str]
) -> AfterCommit | None:
    """One subscriber's reaction and the note that it reacted, in one transaction."""
    async with in_transaction():
        after = await subscriber.handle(event, event_type)
        noted = " ".join([*handled, subscriber.name])
        await DomainEvent.filter(id=event.id).update(handled_by=noted)
    return after


async def left_behind(cutoff: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Events recorded before ``cutoff`` that nobody holds: their wake-up was lost (a
    process died between commit and wake-up) or their relay died."""
    now = clock.now()
    return await (
        DomainEvent.filter(
            Q(occurred_at__lt=cutoff) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        )
        .order_by("occurred_at", "id")
        .limit(limit)
        .values_list("id", flat=True)
    )
