"""Waiting for a job to end, for interfaces that answer only once the images exist (the
OpenAI-compatible routes, whose clients expect the images in the answer).

The wait follows the job's events on the bus (subscribed before the row is read, so no
event falls between the two), wakes every ``check_every_s`` to ask ``abandoned`` whether
the caller still wants the answer, and gives up at ``within_s``. What to do then (answer
504, cancel the job) is the caller's to decide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from neurall.bus.events import JobEventData
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.jobs import TERMINAL_STATUSES, Job


async def _first_terminal(live: AsyncIterator[JobEventData]) -> JobEventData | None:
    async for event in live:
        if event.terminal:
            return event
    return None


async def wait_for_end(
    job: Job,
    runtime: GenerationRuntime,
    *,
    within_s: float,
    abandoned: Callable[[], bool],
    check_every_s: float = 0.5,
) -> Job | None:
    """The job, read again once it has ended; None when ``within_s`` passed first or
    ``abandoned()`` turned true. A bus outage raises (ServiceUnavailableError): the job
    goes on, and the caller may ask for it again."""
    deadline = time.monotonic() + within_s
    async with runtime.bus.subscribe(job.id) as live:
        current = await Job.get(id=job.id)
        if current.status in TERMINAL_STATUSES:
            return current
        # One task reads the events for the whole wait: cancelling a read of the stream
        # midway would close it, and the wait wakes up regularly to look at the caller.
        ending = asyncio.ensure_future(_first_terminal(live))
        try:
            while not ending.done():
                left = deadline - time.monotonic()
                if left <= 0 or abandoned():
                    return None
                await asyncio.wait({ending}, timeout=min(check_every_s, left))
            if ending.result() is None:  # re-raises a bus failure
                return None
        finally:
            ending.cancel()
            await asyncio.wait({ending})  # a wait never raises: the reader is gone after it
    return await Job.get(id=job.id)
