"""The retention sweeper: a registry of policies, run together.

Each policy is one bulk delete that returns how many records (or blobs) it removed, with a
docstring stating the TTL and why. ``neurall retention run`` runs them on demand; the
maintenance actor runs them periodically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from neurall.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionContext:
    settings: Settings
    now: datetime


PolicyFunction = Callable[[RetentionContext], Awaitable[int]]


@dataclass(frozen=True)
class Policy:
    name: str
    run: PolicyFunction

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").strip()


POLICIES: list[Policy] = []


def policy(name: str) -> Callable[[PolicyFunction], PolicyFunction]:
    """Register a retention policy under ``name`` (kebab-case, shown in logs and the CLI)."""

    def register(function: PolicyFunction) -> PolicyFunction:
        if any(p.name == name for p in POLICIES):
            raise ValueError(f"retention policy {name!r} registered twice")
        POLICIES.append(Policy(name, function))
        return function

    return register


async def run_policies(settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Run every policy; one failing does not stop the others. Returns removed counts
    (-1 for a policy that failed; the error is logged)."""
    import neurall.retention.policies  # noqa: F401 - registers the policies

    context = RetentionContext(settings=settings, now=now or datetime.now(UTC))
    removed: dict[str, int] = {}
    for item in POLICIES:
        started = time.perf_counter()
        try:
            removed[item.name] = await item.run(context)
        except Exception:
            log.exception("retention policy %s failed", item.name)
            removed[item.name] = -1
            continue
        log.info(
            "retention policy %s removed %d in %.3f s",
            item.name,
            removed[item.name],
            time.perf_counter() - started,
        )
    return removed
