"""A running job's lease: how the service knows a job still has a worker.

The worker that starts attempt ``n`` of a job sets ``lease_expires_at`` and renews it every
quarter of NEURALL_JOB_LEASE_S while it works, whatever the pipeline is doing (loading a
model, waiting in a Triton batch, decoding). A worker that died, or that lost the database
or the broker for longer than the lease, stops renewing; the reaper
(neurall.generation.reaper) then takes the job over. Renewals, progress writes and the
final transition all name the attempt, so a worker that comes back late can no longer
touch a job that was handed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from neurall.clock import now
from neurall.orm.jobs import Job, JobStatus
from neurall.outages import is_outage

log = logging.getLogger(__name__)


def lease_until(lease_s: float) -> datetime:
    return now() + timedelta(seconds=lease_s)


async def renew(job_id: uuid.UUID, attempt: int, lease_s: float) -> bool:
    """Extend the lease of this run; False when the job is no longer this run's."""
    updated = await Job.filter(id=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
        lease_expires_at=lease_until(lease_s)
    )
    return bool(updated)


@contextlib.asynccontextmanager
async def holding_lease(job_id: uuid.UUID, attempt: int, lease_s: float) -> AsyncIterator[None]:
    """Renew the lease in the background while the body runs."""

    async def keep_renewing() -> None:
        while True:
            await asyncio.sleep(lease_s / 4)
            try:
                if not await renew(job_id, attempt, lease_s):
                    return  # ended, canceled or handed on: the body finds out itself
            except Exception as exc:
                if not is_outage(exc):
                    raise
                # The next renewal may succeed; if none does, the reaper takes over.
                log.warning("job %s: could not renew its lease (%s)", job_id, type(exc).__name__)

    task = asyncio.create_task(keep_renewing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
