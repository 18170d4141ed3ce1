"""The retention sweeper: the list of policies, run together.

Each policy is one bulk delete that returns how many records (or blobs) it removed, with a
docstring stating the TTL and why. ``neurall retention run`` runs them on demand; the
maintenance actor runs them periodically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from neurall import clock
from neurall.config import Settings
from neurall.retention import policies, privacy_policies
from neurall.retention.context import RetentionContext
from neurall.storage import Storage

log = logging.getLogger(__name__)


PolicyFunction = Callable[[RetentionContext], Awaitable[int]]


@dataclass(frozen=True)
class Policy:
    name: str
    run: PolicyFunction

    @property
    def description(self) -> str:
        return (self.run.__doc__ or "").strip()


# Every policy, in the order a sweep runs them. A new policy is added here.
POLICIES: list[Policy] = [
    Policy("expired-api-results", privacy_policies.expired_api_results),
    Policy("usage-logs", privacy_policies.usage_logs),
    Policy("expired-exports", privacy_policies.expired_exports),
    Policy("abandoned-uploads", privacy_policies.abandoned_uploads),
    Policy("orphaned-blobs", privacy_policies.orphaned_blobs),
    Policy("expired-sessions", policies.expired_sessions),
    Policy("audit-events", policies.audit_events),
    Policy("idle-rate-limit-buckets", policies.idle_rate_limit_buckets),
    Policy("unsent-mail", policies.unsent_mail),
    Policy("spent-email-links", policies.spent_email_links),
    Policy("webhook-deliveries", policies.webhook_deliveries),
]


async def run_policies(
    settings: Settings, storage: Storage, now: datetime | None = None
) -> dict[str, int]:
    """Run every policy; one failing does not stop the others. Returns removed counts
    (-1 for a policy that failed; the error is logged)."""
    context = RetentionContext(settings=settings, storage=storage, now=now or clock.now())
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
