"""Waking the delivery actor for recorded deliveries, off the caller's path.

The process's worker setup registers how to enqueue (neurall.workers.webhooks); the code
that records events calls ``dispatch_soon`` after its commit. That only schedules a task:
the generation path never waits for the broker, let alone for a receiver. A process with
no dispatcher registered (a CLI command) leaves deliveries to the overdue sweep.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Enqueue = Callable[[Sequence[uuid.UUID], int], Awaitable[None]]

_enqueue: Enqueue | None = None
_tasks: set[asyncio.Task[None]] = set()


def set_dispatcher(enqueue: Enqueue | None) -> None:
    """Register (or, with None, forget) how this process enqueues deliveries."""
    global _enqueue
    _enqueue = enqueue


def dispatch_soon(delivery_ids: Sequence[uuid.UUID], *, delay_ms: int = 0) -> None:
    """Enqueue the deliveries in the background. ``delay_ms`` for callers that may still
    be inside an outer transaction: the actor then finds the committed row."""
    if not delivery_ids or _enqueue is None:
        return
    task = asyncio.get_running_loop().create_task(_send(_enqueue, list(delivery_ids), delay_ms))
    _tasks.add(task)  # a strong reference until done (the loop keeps only weak ones)
    task.add_done_callback(_tasks.discard)


async def _send(enqueue: Enqueue, delivery_ids: list[uuid.UUID], delay_ms: int) -> None:
    try:
        await enqueue(delivery_ids, delay_ms)
    except Exception:
        # The rows are committed: the overdue sweep sends them later.
        log.warning("could not queue %d webhook deliveries", len(delivery_ids), exc_info=True)
