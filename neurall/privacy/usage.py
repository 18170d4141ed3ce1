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
from neurall.orm.billing import LedgerEntry
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
    ledger_reference: str | None = None,
    images: int = 0,
) -> UsageLog:
    """One row. ``ledger_reference`` names the work the operation created ("job:<id>"),
    None for an operation (or an idempotent replay) that created none."""
    return await UsageLog.create(
        account_id=account_id,
        api_key_id=api_key_id,
        operation=operation[:_MAX_OPERATION],
        duration_ms=max(0, duration_ms),
        ledger_reference=ledger_reference,
        images=images,
        status="ok" if ok else "error",
        ip=ip[:64],
        user_agent=user_agent[:_MAX_USER_AGENT],
    )


async def usage_days(
    account_id: uuid.UUID, since: datetime, until: datetime | None, now: datetime
) -> list[UsageDay]:
    """Per-day totals (UTC days, oldest first, days without requests left out) of the
    account's usage logs in [since, until). At most MAX_USAGE_DAYS days at once.

    Credits are what the requests' work was charged, read from the ledger: a job canceled
    before it ran counts 0, one still running counts what it has been charged so far (0).
    """
    until = until or now
    if until < since:
        raise InvalidInputError("until must not be before since.", ["until"])
    if until - since > timedelta(days=MAX_USAGE_DAYS):
        raise InvalidInputError(f"At most {MAX_USAGE_DAYS} days at once.", ["since"])
    rows = await UsageLog.filter(
        account_id=account_id, created_at__gte=since, created_at__lt=until
    ).values_list("created_at", "images", "ledger_reference")
    charged = await _charged(account_id, {ref for *_, ref in rows if ref is not None})
    totals: dict[str, list[int]] = {}
    for created_at, images, reference in rows:
        day = totals.setdefault(created_at.date().isoformat(), [0, 0, 0])
        day[0] += 1
        day[1] += images
        day[2] += charged.get(reference, 0) if reference is not None else 0
    return [UsageDay(day, *values) for day, values in sorted(totals.items())]


async def _charged(account_id: uuid.UUID, references: set[str]) -> dict[str, int]:
    """Credits charged under each ledger reference (CHARGE entries carry minus the amount)."""
    if not references:
        return {}
    rows = await LedgerEntry.filter(
        account_id=account_id, kind="CHARGE", reference__in=list(references)
    ).values_list("reference", "amount")
    charged: dict[str, int] = {}
    for reference, amount in rows:
        charged[reference] = charged.get(reference, 0) - amount
    return charged
