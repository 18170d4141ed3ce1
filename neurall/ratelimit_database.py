"""Token buckets in the database, shared by every API process that uses it.

Chosen with NEURALL_RATE_LIMIT_BACKEND=database. Each ``take`` is one atomic upsert that
refills the bucket by the time elapsed and spends ``cost`` only if enough is there, so two
processes can never both spend the last token (PostgreSQL takes the row lock for the
conflicting update; SQLite serialises writers). A refused ``take`` changes nothing.

The arithmetic is the same as ``neurall.ratelimit.TokenBuckets``, on wall-clock seconds
(``time.time()``) because the processes may run on different hosts; a clock that steps
back only delays the refill, it never adds tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tortoise import connections

from neurall.errors import RateLimitedError
from neurall.orm.ratelimit import RateLimitBucket

# Parameters, in order: key, now, capacity, rate (tokens per second), cost. Each dialect
# names them its own way (asyncpg needs the float types spelt out) and has its own
# two-argument minimum and maximum.
_TAKE_SQL = """
INSERT INTO rate_limit_bucket AS b (key, tokens, updated_at)
VALUES ({key}, {capacity} - {cost}, {now})
ON CONFLICT (key) DO UPDATE SET
    tokens = {least}({capacity}, b.tokens + {greatest}(0, {now} - b.updated_at) * {rate}) - {cost},
    updated_at = {greatest}(b.updated_at, {now})
WHERE {least}({capacity}, b.tokens + {greatest}(0, {now} - b.updated_at) * {rate}) >= {cost}
RETURNING tokens
"""
_PARAMETERS = ("key", "now", "capacity", "rate", "cost")
_DIALECTS = {
    "postgres": {
        "least": "LEAST",
        "greatest": "GREATEST",
        **{name: f"${n}" + ("::float8" if n > 1 else "") for n, name in enumerate(_PARAMETERS, 1)},
    },
    "sqlite": {
        "least": "MIN",
        "greatest": "MAX",
        **{name: f"?{n}" for n, name in enumerate(_PARAMETERS, 1)},
    },
}


class DatabaseBackend:
    """``capacity`` tokens per key, refilled continuously over ``period_s``."""

    def __init__(
        self, capacity: int, period_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / period_s
        self._clock = clock

    async def take(self, key: str, cost: float = 1.0) -> float:
        if cost > self.capacity:
            raise RateLimitedError(round(cost / self.rate, 3))
        connection = connections.get("default")
        sql = _TAKE_SQL.format(**_DIALECTS[connection.capabilities.dialect])
        now = self._clock()
        rows = await connection.execute_query_dict(
            sql, [key, now, float(self.capacity), self.rate, float(cost)]
        )
        if not rows:
            await self.check(key, cost)  # raises with the wait
            raise RateLimitedError(round(cost / self.rate, 3))  # refilled meanwhile: rare
        return float(rows[0]["tokens"])

    async def check(self, key: str, cost: float = 1.0) -> None:
        bucket = await RateLimitBucket.get_or_none(key=key)
        if bucket is None:
            tokens = float(self.capacity)
        else:
            elapsed = max(0.0, self._clock() - bucket.updated_at)
            tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
        if tokens < cost:
            raise RateLimitedError(round((cost - tokens) / self.rate, 3))


async def delete_idle_buckets(now: float, idle_s: float) -> int:
    """Delete buckets untouched for ``idle_s`` seconds: they have refilled long ago and a
    missing row means a full bucket."""
    return await RateLimitBucket.filter(updated_at__lt=now - idle_s).delete()
