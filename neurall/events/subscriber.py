"""What the relay hands events to. Subscribers live above the domain (neurall.subscribers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from neurall.events.types import EventType
from neurall.orm.events import DomainEvent

# Run once the subscriber's transaction committed (a wake-up of its own queue).
AfterCommit = Callable[[], Awaitable[None]]


class Subscriber(Protocol):
    """One reaction to domain events.

    ``handle`` runs inside the relay's transaction, which also records that this
    subscriber handled the event: what it writes there happens exactly once per event,
    however often the event is relayed. It returns what to do after the commit, if
    anything (losing that must lose nothing: the subscriber's own sweep covers it)."""

    name: str
    # The events it reacts to; the relay hands it no others (and opens no transaction).
    types: frozenset[EventType]

    async def handle(self, event: DomainEvent, event_type: EventType) -> AfterCommit | None: ...

    async def wants(self, account_id: uuid.UUID, event_type: EventType) -> bool:
        """For on-demand events (``types.ON_DEMAND``): whether this account needs one."""
        ...
