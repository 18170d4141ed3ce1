"""How long to wait before trying again: exponential backoff with jitter, bounded, and
never sooner than the server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` tries after the first; waits grow from ``base_delay`` by 2x up to
    ``max_delay``, each scaled by a random factor in [0.5, 1) so that many clients that
    failed together do not come back together. A Retry-After from the server is honoured
    up to ``max_retry_after`` (a longer one is given up on: the error is raised)."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 0), or None
        when no more tries are allowed."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None and retry_after > self.max_retry_after:
            return None
        backoff = min(self.max_delay, self.base_delay * 2.0**attempt)
        jittered = backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret
        return max(jittered, retry_after or 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the server sends delta-seconds; an HTTP date is not
    expected from it and is ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
