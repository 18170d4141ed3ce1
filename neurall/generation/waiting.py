"""``generate(wait: N)``: answer once the job ends, or after N seconds, whichever is first.

The wait listens to the job's events on the event bus (the topic its worker publishes to),
so a waiting request costs no database reads while it waits: one read before (after
subscribing, so no event falls between) and one after, for the job as it stands. The job
never depends on the wait: it was committed and queued before, and a client that goes
away only ends its own wait (``gone``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from neurall.bus.events import JobEventBus, JobEventData
from neurall.errors import InvalidInputError
from neurall.orm.jobs import TERMINAL_STATUSES, Job

MAX_WAIT_S = 60
# How often the wait looks whether its client is still connected: a look at the socket,
# not at the database.
CLIENT_CHECK_S = 0.5


def check_wait(wait: int | None) -> int:
    """Seconds to wait (0 for none); InvalidInput naming ``wait`` outside 0..MAX_WAIT_S."""
    if wait is None:
        return 0
    if not 0 <= wait <= MAX_WAIT_S:
        raise InvalidInputError(
            f"wait is 0 to {MAX_WAIT_S} seconds; follow a longer job with jobEvents.",
            ["wait"],
        )
    return wait


async def wait_for_end(
    job: Job, bus: JobEventBus, seconds: float, gone: Callable[[], bool] = lambda: False
) -> Job:
    """``job`` as it stands once it ended, ``seconds`` passed, or ``gone()`` says the
    client left (looked at every CLIENT_CHECK_S)."""
    if seconds <= 0 or job.status in TERMINAL_STATUSES:
        return job
    deadline = time.monotonic() + seconds
    async with bus.subscribe(job.id) as live:
        current = await Job.get(id=job.id)
        if current.status in TERMINAL_STATUSES:
            return current
        events = aiter(live)
        # One pending read at a time, kept across the client checks: cancelling a read of
        # the subscription's generator would close it.
        pending: asyncio.Future[JobEventData] | None = None
        try:
            while (left := deadline - time.monotonic()) > 0 and not gone():
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({pending}, timeout=min(left, CLIENT_CHECK_S))
                if not done:
                    continue
                event, pending = pending.result(), None
                if event.terminal:
                    break
        except StopAsyncIteration:
            pass  # the subscription ended (an outage): answer with the job as it stands
        finally:
            if pending is not None:
                pending.cancel()  # not awaited: this task may be being cancelled itself
    return await Job.get(id=job.id)
