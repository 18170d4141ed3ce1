"""``generate(wait: N)``: answer once the job ends, or after N seconds, whichever is first.

The wait is neurall.generation.completion's: it follows the job's events on the event bus
(the topic its worker publishes to), so a waiting request costs no database reads while it
waits, only one before and one after. Unlike the OpenAI-compatible routes, ``generate``
always answers with the job as it stands: it was committed and queued before the wait,
so neither the deadline, nor a client that goes away (``gone``), nor an outage of the bus
ends anything but the wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from neurall.errors import InvalidInputError
from neurall.generation.completion import wait_for_end
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.jobs import TERMINAL_STATUSES, Job
from neurall.outages import is_outage

log = logging.getLogger(__name__)

MAX_WAIT_S = 60


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


async def job_after_wait(
    job: Job, runtime: GenerationRuntime, seconds: float, gone: Callable[[], bool]
) -> Job:
    """``job`` once it ended, ``seconds`` passed, or ``gone()`` says the client left."""
    if seconds <= 0 or job.status in TERMINAL_STATUSES:
        return job
    try:
        ended = await wait_for_end(job, runtime, within_s=seconds, abandoned=gone)
    except Exception as exc:
        if not is_outage(exc):
            raise
        # The job goes on; the answer is the job as it stands, as after a deadline.
        log.warning("job %s: the wait ended early (%s)", job.id, type(exc).__name__)
        ended = None
    return ended if ended is not None else await Job.get(id=job.id)
