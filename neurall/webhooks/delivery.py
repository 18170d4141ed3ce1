"""One delivery attempt, its outcome, and when to try again.

The delivery row is the truth; a queue message only wakes the actor for it. An attempt
claims the row first (a conditional update of ``next_attempt_at`` to the end of a lease),
so duplicate wake-ups do not send twice at once; a wake-up that finds the row's time still
ahead (a duplicate, or a worker that died mid-attempt and whose message came back) is put
back to sleep until then. Every attempt of one event carries the same ``webhook-id``.

Retries follow the Standard Webhooks schedule after the first attempt: 5 s, 5 min, 30 min,
2 h, 5 h, 10 h, 14 h, 20 h, 24 h, each ±10 % jitter so that the receivers of a busy
moment are not hit again all at once. A 429 or 503 with ``Retry-After`` is retried when it
asks (at most 24 h later). A 410 disables the endpoint; so does a run of failures as long
as NEURALL_WEBHOOK_DISABLE_AFTER_FAILING_S (3 days). Either way ``disabled_reason`` says
why and the audit log records it.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from neurall import clock
from neurall.audit import AuditEventType, record
from neurall.metrics import WEBHOOK_DELIVERIES
from neurall.orm.webhooks import (
    OPEN_DELIVERY_STATUSES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from neurall.secrets_at_rest import Keyring
from neurall.webhooks import events
from neurall.webhooks.http import Answer, WebhookHTTP
from neurall.webhooks.secret_store import signing_secrets
from neurall.webhooks.signing import signed_headers

log = logging.getLogger(__name__)

RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S) + 1
JITTER = 0.1
MAX_RETRY_AFTER_S = 24 * 3600
# A claimed attempt's row is left alone this long past the request timeout.
LEASE_MARGIN_S = 15
GONE = "The endpoint answered 410 Gone."


@dataclass(frozen=True)
class DeliverySettings:
    public_url: str
    timeout_s: float
    disable_after_failing_s: float
    # Opens the endpoints' sealed signing secrets.
    keyring: Keyring


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def retry_delay(
    attempts_made: int,
    answer: Answer,
    now: datetime,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failed ones; None: give up."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    if answer.status in (429, 503):
        asked = parse_retry_after(answer.retry_after, now)
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER_S)
    base = RETRY_SCHEDULE_S[attempts_made - 1]
    return base * (1 + JITTER * (2 * rand() - 1))


async def attempt(
    delivery_id: uuid.UUID, http: WebhookHTTP, config: DeliverySettings
) -> float | None:
    """Make the delivery's next attempt if it is due. Returns seconds until the actor
    should wake for it again (a retry, or a wake-up that came early); None when it is
    done or not this wake-up's business."""
    delivery = await WebhookDelivery.get_or_none(id=delivery_id).select_related("endpoint")
    if delivery is None or delivery.status not in OPEN_DELIVERY_STATUSES:
        return None
    now = clock.now()
    due = delivery.next_attempt_at or now
    if due > now + timedelta(seconds=1):
        return (due - now).total_seconds()
    endpoint: WebhookEndpoint = delivery.endpoint
    if not endpoint.enabled and not delivery.manual:
        await _close(delivery, DeliveryStatus.FAILED)
        return None
    lease_end = now + timedelta(seconds=config.timeout_s + LEASE_MARGIN_S)
    claim = WebhookDelivery.filter(id=delivery.id, status__in=list(OPEN_DELIVERY_STATUSES))
    if delivery.next_attempt_at is None:
        claim = claim.filter(next_attempt_at__isnull=True)
    else:
        claim = claim.filter(next_attempt_at=delivery.next_attempt_at)
    if not await claim.update(next_attempt_at=lease_end):
        return None  # another wake-up claimed it first
    body = await events.body(delivery, config.public_url, now)
    headers = signed_headers(
        delivery.event_id, now, body, signing_secrets(endpoint, now, config.keyring)
    )
    answer = await http.post(endpoint.url, body, headers)
    delay = await _record(delivery, endpoint, answer, config)
    WEBHOOK_DELIVERIES.labels(_OUTCOMES.get(delivery.status, "failed")).inc()
    return delay


# The delivery's status after an attempt, as the metric's bounded outcome label.
_OUTCOMES = {
    DeliveryStatus.SUCCEEDED: "delivered",
    DeliveryStatus.RETRYING: "retrying",
    DeliveryStatus.FAILED: "failed",
}


async def _record(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    answer: Answer,
    config: DeliverySettings,
) -> float | None:
    now = clock.now()
    delivery.attempts += 1
    delivery.response_status = answer.status
    delivery.duration_ms = answer.duration_ms
    delivery.last_attempt_at = now
    log.info(
        "webhook delivery %s attempt %d: %s in %d ms",
        delivery.id,
        delivery.attempts,
        answer.status or answer.error,
        answer.duration_ms,
    )
    if answer.status is not None and 200 <= answer.status < 300:
        await _close(delivery, DeliveryStatus.SUCCEEDED)
        if endpoint.failing_since is not None and not delivery.manual:
            await WebhookEndpoint.filter(id=endpoint.id).update(failing_since=None)
        return None
    if delivery.manual:
        await _close(delivery, DeliveryStatus.FAILED)
        return None
    # The endpoint is turned off before its delivery is closed: whoever sees the delivery
    # FAILED sees the endpoint's state that caused it.
    if answer.status == 410:
        await disable(endpoint, GONE, "gone")
        await _close(delivery, DeliveryStatus.FAILED)
        return None
    failing_since = endpoint.failing_since or now
    if endpoint.failing_since is None:
        await WebhookEndpoint.filter(id=endpoint.id, failing_since=None).update(failing_since=now)
    if (now - failing_since).total_seconds() >= config.disable_after_failing_s:
        days = config.disable_after_failing_s / 86400
        await disable(endpoint, f"Deliveries failed for {days:g} days.", "failing")
        await _close(delivery, DeliveryStatus.FAILED)
        return None
    delay = retry_delay(delivery.attempts, answer, now)
    if delay is None:
        await _close(delivery, DeliveryStatus.FAILED)
        return None
    delivery.status = DeliveryStatus.RETRYING
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    await delivery.save()
    return delay


async def _close(delivery: WebhookDelivery, status: DeliveryStatus) -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    await delivery.save()


async def disable(endpoint: WebhookEndpoint, reason: str, word: str) -> None:
    """Turn the endpoint off for ``reason`` (shown to its owner) and audit it."""
    changed = await WebhookEndpoint.filter(id=endpoint.id, enabled=True).update(
        enabled=False, disabled_reason=reason
    )
    if changed:
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, word)
        await record(
            AuditEventType.WEBHOOK_ENDPOINT_DISABLED,
            endpoint.account_id,  # type: ignore[attr-defined]
            "server",
            "neurall-webhooks",
            webhook_endpoint_id=endpoint.id,
            reason=word,
        )


async def overdue(now: datetime, grace_s: float) -> list[uuid.UUID]:
    """Open deliveries whose time passed ``grace_s`` ago: their wake-up was lost (a
    crash between commit and enqueue, a broker outage) or their worker died."""
    cutoff = now - timedelta(seconds=grace_s)
    return (
        await WebhookDelivery.filter(
            status__in=list(OPEN_DELIVERY_STATUSES), next_attempt_at__lt=cutoff
        )
        .limit(1000)
        .values_list("id", flat=True)
    )
