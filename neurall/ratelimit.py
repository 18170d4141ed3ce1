"""Token-bucket rate limits.

Two backends behind one interface, chosen by NEURALL_RATE_LIMIT_BACKEND. ``memory`` (the
embedded default): each API process keeps its own buckets, so with N processes behind a
load balancer a client gets up to N times the configured rate. ``database``
(neurall.ratelimit_database): the buckets are rows shared by every process.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from neurall.errors import RateLimitedError
from neurall.metrics import RATE_LIMIT_REFUSALS

if TYPE_CHECKING:
    from neurall.config import Settings


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

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens and return those left, or raise RateLimitedError and take
        none."""
        self.check(key, cost)
        self._buckets[key].tokens -= cost
        return self._buckets[key].tokens


@dataclass(frozen=True)
class Quota:
    """A bucket after a take, as the RateLimit header fields report it."""

    limit: int
    remaining: int
    reset_s: int  # seconds until the bucket is full again


class RateLimitBackend(Protocol):
    """Where buckets live: ``InProcessBackend`` or the shared ``DatabaseBackend``. Async,
    because a shared one does I/O. ``take`` returns the tokens left."""

    capacity: int
    rate: float

    async def take(self, key: str, cost: float = 1.0) -> float: ...

    async def check(self, key: str, cost: float = 1.0) -> None: ...


class InProcessBackend:
    """``TokenBuckets`` behind the async interface."""

    def __init__(self, capacity: int, period_s: float) -> None:
        self.buckets = TokenBuckets(capacity, period_s)
        self.capacity = capacity
        self.rate = self.buckets.rate

    async def take(self, key: str, cost: float = 1.0) -> float:
        return self.buckets.take(key, cost)

    async def check(self, key: str, cost: float = 1.0) -> None:
        self.buckets.check(key, cost)


BackendFactory = Callable[[int, float], RateLimitBackend]


def backend_factory(settings: Settings) -> BackendFactory:
    """What builds a bucket store of ``capacity`` tokens per ``period_s``: the backend
    NEURALL_RATE_LIMIT_BACKEND names. Every limit that must hold across API processes is
    built through this one choice."""
    if settings.rate_limit_backend == "database":
        from neurall.ratelimit_database import DatabaseBackend

        return DatabaseBackend
    return InProcessBackend


class RateLimit:
    """One named limit; keys are account or API key ids (UUIDs or strings).

    ``hash_keys``: the keys are personal data of any length (e-mail addresses, IPs). A
    bucket is then named by the key's SHA-256, so the address never reaches the shared
    table and always fits its key column; equal keys still share a bucket.
    """

    def __init__(self, name: str, backend: RateLimitBackend, *, hash_keys: bool = False) -> None:
        self.name = name
        self._backend = backend
        self._hash_keys = hash_keys

    def _bucket_key(self, key: object) -> str:
        text = str(key)
        if self._hash_keys:
            text = hashlib.sha256(text.encode()).hexdigest()
        return f"{self.name}:{text}"

    async def take(self, key: object, cost: float = 1.0) -> Quota:
        """Take ``cost`` tokens for ``key`` or raise RateLimitedError (taking none)."""
        try:
            left = max(0.0, await self._backend.take(self._bucket_key(key), cost))
        except RateLimitedError:
            RATE_LIMIT_REFUSALS.labels(self.name).inc()
            raise
        capacity = self._backend.capacity
        return Quota(
            limit=capacity,
            remaining=math.floor(left),
            reset_s=math.ceil((capacity - left) / self._backend.rate),
        )

    async def check(self, key: object, cost: float = 1.0) -> None:
        """Raise RateLimitedError unless ``cost`` tokens are available (takes none)."""
        try:
            await self._backend.check(self._bucket_key(key), cost)
        except RateLimitedError:
            RATE_LIMIT_REFUSALS.labels(self.name).inc()
            raise


WEBHOOK_SENDS_PER_HOUR_PER_ACCOUNT = 120


class RateLimits:
    """Every request limit of the API, built once from the settings.

    ``per_api_key`` and ``per_account`` are applied to each authenticated GraphQL
    operation by ``neurall.graphql.limits.RequestRateLimit``. ``generate`` and
    ``create_clone`` are stricter, per account, for those resolvers to take themselves:
    ``await services.rate_limits.generate.take(account.id)``.
    """

    def __init__(self, backend: BackendFactory, settings: Settings) -> None:
        def limit(name: str, capacity: int, period_s: float) -> RateLimit:
            return RateLimit(name, backend(capacity, period_s))

        self.per_api_key = limit("key", settings.requests_per_minute_per_api_key, 60)
        self.per_account = limit("account", settings.requests_per_minute_per_account, 60)
        self.generate = limit("generate", settings.generates_per_minute_per_account, 60)
        self.create_clone = limit("clone", settings.clones_per_hour_per_account, 3600)
        # sendTestWebhook and redeliverWebhook: each makes the server call out.
        self.webhook_sends = limit("webhook", WEBHOOK_SENDS_PER_HOUR_PER_ACCOUNT, 3600)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(backend_factory(settings), settings)


async def take_request(limits: RateLimits, account_id: object, api_key_id: object | None) -> Quota:
    """Charge one request to the caller's API key (when it came through one) and account,
    or raise RateLimitedError charging neither. Returns the quota of whichever bucket has
    the fewest tokens left, for the RateLimit header fields. Every interface that serves
    authenticated requests (GraphQL, the OpenAI-compatible routes) charges through here."""
    # Check both before taking either, so a refused request costs nothing.
    if api_key_id is not None:
        await limits.per_api_key.check(api_key_id)
    await limits.per_account.check(account_id)
    quotas = []
    if api_key_id is not None:
        quotas.append(await limits.per_api_key.take(api_key_id))
    quotas.append(await limits.per_account.take(account_id))
    return min(quotas, key=lambda q: q.remaining)


def rate_limit_headers(quota: Quota | None, retry_after_s: float | None = None) -> dict[str, str]:
    """The IETF RateLimit header fields for ``quota`` (a request let through), or for a
    refused one (``quota`` None: nothing remains until ``retry_after_s``)."""
    if quota is None:
        return {"RateLimit-Remaining": "0", "RateLimit-Reset": str(math.ceil(retry_after_s or 0))}
    return {
        "RateLimit-Limit": str(quota.limit),
        "RateLimit-Remaining": str(quota.remaining),
        "RateLimit-Reset": str(quota.reset_s),
    }
