"""Recording a domain event: the one call the domain makes when something happened.

``record`` writes the event in the caller's transaction, so an event exists exactly when
its change committed: none is lost to a crash between the commit and a wake-up, and none
is relayed for a change that rolled back. The relay is woken after the commit: at the end
of the caller's ``announcing`` block, or, for an event recorded outside one (perhaps deep
inside a transaction of a caller that has yet to commit), after a delay that lets that
commit land first. A lost wake-up loses nothing: the relay's sweep finds the event.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime

from neurall import clock
from neurall.events.types import EventType
from neurall.orm.events import DomainEvent

log = logging.getLogger(__name__)

# An event recorded outside ``announcing`` wakes the relay this much later, after any
# transaction it was recorded in has committed (the relay ignores what it cannot see yet).
UNANNOUNCED_WAKE_DELAY_MS = 2000

Wake = Callable[[Sequence[uuid.UUID], int], Awaitable[None]]

_wake: Wake | None = None
_tasks: set[asyncio.Task[None]] = set()


class _Block:
    """The events recorded inside one ``announcing`` block, while it lasts. A task
    started inside the block carries it on in its context; once the block ended, the
    events such a task records wake the relay on their own."""

    def __init__(self) -> None:
        self.recorded: list[uuid.UUID] = []
        self.open = True


_block: ContextVar[_Block | None] = ContextVar("neurall_events", default=None)


def set_waker(wake: Wake | None) -> None:
    """Register (or, with None, forget) how this process wakes the relay; the worker setup
    does (neurall.workers.events). Without one, events wait for the relay's sweep."""
    global _wake
    _wake = wake


async def record(
    event_type: EventType,
    *,
    subject_id: uuid.UUID,
    account_id: uuid.UUID | None,
    payload: Mapping[str, str | int | bool | None] | None = None,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Write one event in the caller's transaction; its id."""
    event = await DomainEvent.create(
        id=uuid.uuid4(),
        type=event_type.name,
        subject_id=subject_id,
        account_id=account_id,
        occurred_at=occurred_at or clock.now(),
        payload=dict(payload or {}),
    )
    block = _block.get()
    if block is not None and block.open:
        block.recorded.append(event.id)
    else:
        wake_soon([event.id], delay_ms=UNANNOUNCED_WAKE_DELAY_MS)
    return event.id


@asynccontextmanager
async def announcing() -> AsyncIterator[None]:
    """Wake the relay for the events recorded inside the block once it ends (its
    transactions committed). A block that raises wakes nothing: whatever of it committed
    waits for the sweep, and what rolled back is not there to relay."""
    block = _Block()
    token = _block.set(block)
    try:
        yield
    finally:
        block.open = False
        _block.reset(token)
    wake_soon(block.recorded)


def wake_soon(event_ids: Sequence[uuid.UUID], *, delay_ms: int = 0) -> None:
    """Ask the relay for these events in the background: the caller never waits for the
    broker, let alone for a subscriber."""
    if not event_ids or _wake is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop to send from: the sweep relays them
    task = loop.create_task(_send(_wake, list(event_ids), delay_ms))
    _tasks.add(task)  # a strong reference until done (the loop keeps only weak ones)
    task.add_done_callback(_tasks.discard)


async def _send(wake: Wake, event_ids: list[uuid.UUID], delay_ms: int) -> None:
    try:
        await wake(event_ids, delay_ms)
    except Exception:
        # The rows are committed: the sweep relays them later.
        log.warning("could not wake the event relay for %d events", len(event_ids), exc_info=True)
