"""Per-API-key spend limits: a cap in credits per UTC day or month.

What counts toward a key's cap is what its work holds or was charged in the period: an
open hold counts in full, a settled one by what it charged, a released one not at all (so
credits given back by a canceled or failed job come back to the cap). A hold belongs to
the period in which it was created.

The cap is checked by ``neurall.billing.ledger.hold`` under the account row's lock, the
same lock that guards the account's credits, so concurrent requests through one key are
counted one after another and cannot overshoot together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.functions import Sum

from neurall.errors import InvalidInputError, SpendLimitReachedError
from neurall.orm.accounts import ApiKey
from neurall.orm.billing import Hold

# Far above any real cap; bounds the arithmetic and keeps the column an ordinary int.
MAX_LIMIT_CREDITS = 1_000_000_000


class SpendPeriod(StrEnum):
    DAY = "DAY"
    MONTH = "MONTH"


@dataclass(frozen=True)
class SpendStatus:
    credits: int
    period: SpendPeriod
    spent: int
    resets_at: datetime


def period_bounds(period: SpendPeriod, now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar day or month holding ``now``: (start, end)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == SpendPeriod.DAY:
        return day, day + timedelta(days=1)
    start = day.replace(day=1)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


async def spent_since(api_key_id: uuid.UUID, since: datetime) -> int:
    """Credits held (open holds) or charged (settled holds) through the key since ``since``."""
    held = await _sum(api_key_id, since, "open", "amount")
    charged = await _sum(api_key_id, since, "settled", "charged")
    return held + charged


async def _sum(api_key_id: uuid.UUID, since: datetime, status: str, column: str) -> int:
    row = (
        await Hold.filter(api_key_id=api_key_id, created_at__gte=since, status=status)
        .annotate(total=Sum(column))
        .first()
        .values("total")
    )
    return int((row or {}).get("total") or 0)


async def status(key: ApiKey, now: datetime) -> SpendStatus | None:
    """The key's cap, what it has spent this period and when that resets; None uncapped."""
    if key.spend_limit_credits is None:
        return None
    period = SpendPeriod(key.spend_limit_period)
    start, end = period_bounds(period, now)
    return SpendStatus(key.spend_limit_credits, period, await spent_since(key.id, start), end)


async def check(key: ApiKey, amount: int, now: datetime) -> None:
    """Raise SpendLimitReachedError if holding ``amount`` more would pass the key's cap.
    Call it with the account row locked (``ledger.hold`` does)."""
    current = await status(key, now)
    if current is not None and current.spent + amount > current.credits:
        raise SpendLimitReachedError(current.credits, current.spent, current.resets_at)


def validate_limit(credits: int | None) -> int | None:
    if credits is not None and not 0 <= credits <= MAX_LIMIT_CREDITS:
        raise InvalidInputError(
            f"A spend limit is 0 to {MAX_LIMIT_CREDITS} credits.", ["limit.credits"]
        )
    return credits
