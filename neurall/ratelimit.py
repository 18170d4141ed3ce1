"""Token-bucket rate limits.

In-process: each API process keeps its own buckets, so with N processes behind a load
balancer a client gets up to N times the configured rate. That is the documented
behaviour of the embedded default; a shared backend can implement the same interface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from neurall.errors import RateLimitedError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """``capacity`` tokens per key, refilled continuously over ``period_s``."""

    def __init__(
        self,
        capacity: int,
        period_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / period_s
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._max_keys = max_keys

    def _bucket(self, key: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.capacity), now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def _evict_full(self, now: float) -> None:
        # Buckets that have refilled carry no information; dropping them bounds memory.
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]

    def retry_after(self, key: str, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available; 0 when they are now."""
        bucket = self._bucket(key)
        missing = cost - bucket.tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def check(self, key: str, cost: float = 1.0) -> None:
        """Raise RateLimitedError unless ``cost`` tokens are available (takes none)."""
        wait = self.retry_after(key, cost)
        if wait > 0:
            raise RateLimitedError(round(wait, 3))

    def take(self, key: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens, or raise RateLimitedError and take none."""
        self.check(key, cost)
        self._buckets[key].tokens -= cost
