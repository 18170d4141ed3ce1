"""Per-request usage logs of API keys, and their per-day totals.

One row per operation an API key makes: which key, which root fields, how long, credits
and images it reserved, whether it failed, and the client's IP and user agent (for
security and billing questions). Never the operation's variables or any payload: the row
is written from what the server measured, not from what the client sent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from neurall.errors import InvalidInputError
from neurall.orm.privacy import UsageLog

log = logging.getLogger(__name__)

MAX_USAGE_DAYS = 366
_MAX_OPERATION = 100
_MAX_USER_AGENT = 256


@dataclass(frozen=True)
class UsageDay:
    day: str  # YYYY-MM-DD, UTC
    requests: int
    images: int
    credits: int


async def record_usage(
    *,
    account_id: uuid.UUID,
    api_key_id: uuid.UUID | None,
    operation: str,
    duration_ms: int,
    ok: bool,
    ip: str,
    user_agent: str,
    credits: int = 0,
    images: int = 0,
) -> UsageLog:
    return await UsageLog.create(
        account_id=account_id,
        api_key_id=api_key_id,
        operation=operation[:_MAX_OPERATION],
        duration_ms=max(0, duration_ms),
        credits=credits,
        images=images,
        status="ok" if ok else "error",
        ip=ip[:64],
        user_agent=user_agent[:_MAX_USER_AGENT],
    )


async def usage_days(
    account_id: uuid.UUID, since: datetime, until: datetime | None, now: datetime
) -> list[UsageDay]:
    """Per-day totals (UTC days, oldest first, days without requests left out) of the
    account's usage logs in [since, until). At most MAX_USAGE_DAYS days at once."""
    until = until or now
    if until < since:
        raise InvalidInputError("until must not be before since.", ["until"])
    if until - since > timedelta(days=MAX_USAGE_DAYS):
        raise InvalidInputError(f"At most {MAX_USAGE_DAYS} days at once.", ["since"])
    rows = await UsageLog.filter(
        account_id=account_id, created_at__gte=since, created_at__lt=until
    ).values_list("created_at", "images", "credits")
    totals: dict[str, list[int]] = {}
    for created_at, images, credits in rows:
        day = totals.setdefault(created_at.date().isoformat(), [0, 0, 0])
        day[0] += 1
        day[1] += images
        day[2] += credits
    return [UsageDay(day, *values) for day, values in sorted(totals.items())]
