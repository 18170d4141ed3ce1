"""``GET /metrics`` of `neurall serve`: the Prometheus text format.

Guarded by NEURALL_METRICS_TOKEN (``Authorization: Bearer <token>``). Without a token it is
open in development and not served at all in production: operation counts and queue
depth are not for the public. Gauges of state every API process shares (credits held,
jobs waiting) are read from the database here, at scrape time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from tortoise.functions import Count, Min, Sum

from neurall.clock import now
from neurall.config import Settings
from neurall.metrics import (
    CREDITS_HELD,
    JOBS_QUEUED,
    JOBS_WAITING,
    OLDEST_QUEUED_JOB_AGE,
    exposition,
)
from neurall.orm.billing import Hold
from neurall.orm.jobs import Job, JobStatus

Handler = Callable[[web.Request], Awaitable[web.Response]]


def metrics_handler(settings: Settings) -> Handler:
    token = settings.metrics_token.get_secret_value()
    # Answered here even when refused, or the playground's catch-all would answer 200.
    disabled = settings.production and not token
    expected = f"Bearer {token}".encode()

    async def metrics(request: web.Request) -> web.Response:
        if disabled:
            raise web.HTTPNotFound()
        if token:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
        await _read_shared_gauges()
        body, content_type = exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        response.headers["Cache-Control"] = "no-store"
        return response

    return metrics


async def _read_shared_gauges() -> None:
    held = await Hold.filter(status="open").annotate(total=Sum("amount")).first().values("total")
    CREDITS_HELD.set(int((held or {}).get("total") or 0))
    queued = Job.filter(status=JobStatus.QUEUED)
    JOBS_QUEUED.set(await queued.count())
    row = await queued.annotate(first=Min("created_at")).first().values("first")
    first: datetime | None = (row or {}).get("first")
    OLDEST_QUEUED_JOB_AGE.set(max(0.0, (now() - first).total_seconds()) if first else 0.0)
    rows = (
        await queued.annotate(waiting=Count("id"))
        .group_by("priority", "model")
        .values("priority", "model", "waiting")
    )
    # A series that no longer waits reads 0 rather than its last value (clear, then set).
    JOBS_WAITING.clear()
    for row in rows:
        JOBS_WAITING.labels(str(row["priority"]), str(row["model"])).set(int(row["waiting"]))
