"""Waiting for jobs to end: one job through the API, or every job of a database."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from tests.support.graphql import JOB
from tests.support.poll import until

ENDED = ("SUCCEEDED", "FAILED", "CANCELED")
ACTIVE = ("QUEUED", "RUNNING")


async def job(client: Any, job_id: str, api_key: str | None = None) -> dict[str, Any]:
    """The job as ``client`` (anything with ``data(query, variables, api_key=)``) sees it."""
    return (await client.data(JOB, {"id": job_id}, api_key=api_key))["job"]


async def wait_done(
    client: Any, job_id: str, api_key: str | None = None, *, within: float = 120
) -> dict[str, Any]:
    """The job once it has ended (succeeded, failed or was canceled)."""
    return await until(
        lambda: job(client, job_id, api_key),
        lambda found: found["status"] in ENDED,
        within=within,
        what=f"job {job_id} ending",
    )


async def wait_status(
    client: Any, job_id: str, status: str, api_key: str | None = None, *, within: float = 60
) -> dict[str, Any]:
    """The job once its status is ``status``."""
    return await until(
        lambda: job(client, job_id, api_key),
        lambda found: found["status"] == status,
        within=within,
        every=0.05,
        what=f"job {job_id} becoming {status}",
    )


async def finished_image(client: Any, key: str, job_id: str) -> bytes:
    """The first image of a job that must succeed, fetched with the API key."""
    done = await wait_done(client, job_id, key)
    assert done["status"] == "SUCCEEDED", done
    path = done["images"][0]["url"].split("/images/", 1)[1]
    response = await client.http.get(f"/images/{path}", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200
    return await response.read()


async def wait_account_jobs_ended(account_id: Any, *, within: float = 120) -> None:
    """Until no job of the account is QUEUED or RUNNING (read on the open Tortoise database)."""
    from neurall.orm.jobs import TERMINAL_STATUSES, Job

    await until(
        lambda: (
            Job.filter(account_id=account_id).exclude(status__in=list(TERMINAL_STATUSES)).exists()
        ),
        lambda active: not active,
        within=within,
        what=f"the jobs of account {account_id} ending",
    )


async def active_jobs(database_url: str) -> int:
    """How many jobs of the database are QUEUED or RUNNING."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM job WHERE status = ANY($1)", ACTIVE))
    finally:
        await conn.close()


async def wait_until_every_job_ended(database_url: str, within_s: float) -> float:
    """Seconds it took; fails if some job is still QUEUED or RUNNING after ``within_s``."""
    started = time.monotonic()
    await until(
        lambda: active_jobs(database_url),
        lambda left: left == 0,
        within=within_s,
        every=0.5,
        what="every job ending (jobs still queued or running)",
    )
    return time.monotonic() - started


def payload_queues(queue_names: list[str]) -> list[str]:
    """API requests still on the broker (the privacy sweep's part of the invariants)."""
    return [name for name in queue_names if name.startswith("neurall.payload.")]
