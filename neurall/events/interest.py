"""Whether anybody wants an on-demand event (``types.ON_DEMAND``) of an account.

The process's worker setup registers the subscribers' answer (neurall.workers.events); a
process with none registered records no on-demand events, as nothing there could relay
them sooner than a process that has subscribers.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from neurall.events.types import EventType

Wanted = Callable[[uuid.UUID, EventType], Awaitable[bool]]

_wanted: Wanted | None = None


def set_interest(wanted: Wanted | None) -> None:
    """Register (or, with None, forget) the subscribers' interest in on-demand events."""
    global _wanted
    _wanted = wanted


async def wanted(account_id: uuid.UUID, event_type: EventType) -> bool:
    return _wanted is not None and await _wanted(account_id, event_type)
