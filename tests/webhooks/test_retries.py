"""Retries with Retry-After, 410 disabling the endpoint, failing for too long, secret
rotation with both signatures, redelivery with the same webhook-id."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from neurall.orm.audit import AuditEvent
from neurall.orm.webhooks import DeliveryStatus, WebhookEndpoint
from neurall.webhooks.delivery import RETRY_SCHEDULE_S, parse_retry_after, retry_delay
from neurall.webhooks.http import Answer
from tests.support.factories import sign_up
from tests.support.webhooks import (
    ENDPOINTS,
    REDELIVER,
    ROTATE,
    SEND_TEST,
    UPDATE,
    create_endpoint,
    deliveries,
    wait_delivery_status,
)

pytestmark = pytest.mark.usefixtures("database_url")


async def _record_event(client, endpoint_id: str) -> str:
    """Record a credits.low event for the endpoint's account (no job needed)."""
    from neurall.webhooks import outbox
    from neurall.webhooks.dispatch import dispatch_soon
    from neurall.webhooks.events import EventType

    endpoint = await WebhookEndpoint.get(id=endpoint_id)
    ids = await outbox.record(endpoint.account_id, EventType.CREDITS_LOW)
    dispatch_soon(ids)
    return str(ids[0])


async def test_retry_after_is_honoured_and_the_id_kept(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    receiver.secrets = [created["secret"]]
    receiver.plan = [(503, {"Retry-After": "1"}, 0.0), (429, {"Retry-After": "1"}, 0.0)]
    started = asyncio.get_running_loop().time()
    await _record_event(client, created["endpoint"]["id"])
    first, second, third = await receiver.wait_for(3, within=30)
    assert asyncio.get_running_loop().time() - started >= 2  # waited as asked, twice
    assert first.event_id == second.event_id == third.event_id
    assert all(d.verified_with == [created["secret"]] for d in (first, second, third))
    # The body's timestamp is the event's; the signed header's is each attempt's.
    assert first.body == third.body
    await wait_delivery_status(created["endpoint"]["id"], DeliveryStatus.SUCCEEDED)
    (row,) = await deliveries(client, created["endpoint"]["id"])
    assert (row["status"], row["attempts"], row["responseStatus"]) == ("SUCCEEDED", 3, 200)


async def test_a_failed_attempt_is_scheduled_with_jitter(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    receiver.plan = [(500, {}, 0.0)]
    await _record_event(client, created["endpoint"]["id"])
    await wait_delivery_status(created["endpoint"]["id"], DeliveryStatus.RETRYING)
    (row,) = await deliveries(client, created["endpoint"]["id"])
    assert (row["attempts"], row["responseStatus"]) == (1, 500)
    wait = datetime.fromisoformat(row["nextAttemptAt"]) - datetime.fromisoformat(
        row["lastAttemptAt"]
    )
    assert 4.4 <= wait.total_seconds() <= 5.6  # 5 s ± 10 %
    endpoint = await WebhookEndpoint.get(id=created["endpoint"]["id"])
    assert endpoint.failing_since is not None
    await receiver.wait_for(2, within=15)  # the retry, which succeeds
    await wait_delivery_status(created["endpoint"]["id"], DeliveryStatus.SUCCEEDED)
    assert (await WebhookEndpoint.get(id=endpoint.id)).failing_since is None


async def test_410_disables_the_endpoint_with_a_reason_and_an_audit_event(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    endpoint_id = created["endpoint"]["id"]
    receiver.plan = [(410, {}, 0.0)]
    await _record_event(client, endpoint_id)
    await wait_delivery_status(endpoint_id, DeliveryStatus.FAILED)
    (shown,) = (await client.data(ENDPOINTS))["webhookEndpoints"]
    assert shown["enabled"] is False
    assert "410" in shown["disabledReason"]
    audit = await AuditEvent.filter(event="webhook_endpoint_disabled").values()
    assert [(a["details"]["webhook_endpoint_id"], a["details"]["reason"]) for a in audit] == [
        (endpoint_id, "gone")
    ]
    # Nothing more is recorded for a disabled endpoint; the owner can turn it back on.
    assert await _no_event_recorded(client, endpoint_id)
    back = await client.data(UPDATE, {"id": endpoint_id, "input": {"enabled": True}})
    assert back["updateWebhookEndpoint"]["enabled"] is True
    assert back["updateWebhookEndpoint"]["disabledReason"] is None


async def _no_event_recorded(client, endpoint_id: str) -> bool:
    from neurall.webhooks import outbox
    from neurall.webhooks.events import EventType

    endpoint = await WebhookEndpoint.get(id=endpoint_id)
    return await outbox.record(endpoint.account_id, EventType.CREDITS_LOW) == []


async def test_failing_for_three_days_disables_the_endpoint(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    endpoint_id = created["endpoint"]["id"]
    three_days_ago = datetime.now(UTC) - timedelta(days=3, seconds=1)
    await WebhookEndpoint.filter(id=endpoint_id).update(failing_since=three_days_ago)
    receiver.plan = [(500, {}, 0.0)]
    await _record_event(client, endpoint_id)
    await wait_delivery_status(endpoint_id, DeliveryStatus.FAILED)
    endpoint = await WebhookEndpoint.get(id=endpoint_id)
    assert endpoint.enabled is False
    assert endpoint.disabled_reason == "Deliveries failed for 3 days."
    assert await AuditEvent.filter(event="webhook_endpoint_disabled").count() == 1


async def test_rotation_signs_with_both_secrets_during_the_overlap(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    endpoint_id = created["endpoint"]["id"]
    old = created["secret"]
    rotated = (await client.data(ROTATE, {"id": endpoint_id}))["rotateWebhookSecret"]
    new = rotated["secret"]
    assert new.startswith("whsec_")
    assert new != old
    receiver.secrets = [old, new]
    await client.data(SEND_TEST, {"id": endpoint_id})
    (delivery,) = await receiver.wait_for(1)
    assert delivery.verified_with == [old, new]
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(delivery.body, delivery.headers)  # the library, directly

    # After 24 hours the old secret stops signing.
    await WebhookEndpoint.filter(id=endpoint_id).update(
        previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await client.data(SEND_TEST, {"id": endpoint_id})
    _, later = await receiver.wait_for(2)
    assert later.verified_with == [new]


async def test_redelivery_sends_the_same_webhook_id(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    receiver.secrets = [created["secret"]]
    await _record_event(client, created["endpoint"]["id"])
    (first,) = await receiver.wait_for(1)
    await wait_delivery_status(created["endpoint"]["id"], DeliveryStatus.SUCCEEDED)
    (row,) = await deliveries(client, created["endpoint"]["id"])
    again = (await client.data(REDELIVER, {"id": row["id"]}))["redeliverWebhook"]
    assert again["eventId"] == row["eventId"] == first.event_id
    assert again["id"] != row["id"]
    _, second = await receiver.wait_for(2)
    assert second.event_id == first.event_id
    assert second.body == first.body
    assert second.verified_with == [created["secret"]]
    missing = await client.data(REDELIVER, {"id": str(uuid.uuid4())})
    assert missing["redeliverWebhook"]["code"] == "NOT_FOUND"


def test_the_retry_schedule_is_the_standard_webhooks_one():
    assert RETRY_SCHEDULE_S == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    now = datetime.now(UTC)
    failed = Answer(status=500, duration_ms=1)
    assert retry_delay(1, failed, now, rand=lambda: 0.5) == 5
    assert retry_delay(2, failed, now, rand=lambda: 0.0) == 270  # -10 %
    assert retry_delay(9, failed, now, rand=lambda: 1.0) == pytest.approx(86400 * 1.1)
    assert retry_delay(10, failed, now) is None  # ten attempts, then FAILED
    busy = Answer(status=429, duration_ms=1, retry_after="120")
    assert retry_delay(1, busy, now) == 120
    date = (now + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 58 <= parse_retry_after(date, now) <= 61
    assert parse_retry_after("soon", now) is None
    huge = Answer(status=503, duration_ms=1, retry_after=str(10**9))
    assert retry_delay(1, huge, now) == 24 * 3600
