"""Webhook endpoints and the delivery log (one row per event per endpoint).

Nothing of a request or response body is stored: a delivery row names the event (type,
subject id, when it happened) and the outcome of its attempts, and the body is built from
the subject's public fields each time it is sent (see neurall.webhooks.events).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


OPEN_DELIVERY_STATUSES = frozenset({DeliveryStatus.PENDING, DeliveryStatus.RETRYING})


class WebhookEndpoint(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "neurall.Account", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=500, null=True)
    # Space-separated WebhookEventType names, e.g. "JOB_SUCCEEDED JOB_FAILED".
    events = fields.CharField(max_length=300)
    # The whsec_ signing secret, sealed (neurall.webhooks.secret_store): signing needs it
    # back, so it cannot be a hash. It is returned once and never shown again.
    secret = fields.CharField(max_length=255)
    # After a rotation the old secret (sealed too) signs beside the new one until it expires.
    previous_secret = fields.CharField(max_length=255, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=200, null=True)
    # Start of the current run of failed attempts; cleared by a success.
    failing_since = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_endpoint"
        indexes = (("account_id", "enabled"),)


class WebhookDelivery(Model):
    id = fields.UUIDField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "neurall.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    account_id = fields.UUIDField(db_index=True)
    # The webhook-id header: the same for every attempt (and redelivery) of one event.
    event_id = fields.CharField(max_length=64, db_index=True)
    event_type = fields.CharField(max_length=32)
    # The job or clone the event is about (null for account events and test events).
    subject_id = fields.UUIDField(null=True)
    # job.progress: the step reached.
    step = fields.IntField(null=True)
    # The body's "timestamp": when the event happened, the same on every attempt.
    occurred_at = fields.DatetimeField()
    # sendTestWebhook and redeliverWebhook: one attempt, asked for by the owner, so made
    # even to a disabled endpoint and never counted toward disabling it.
    manual = fields.BooleanField(default=False)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    response_status = fields.IntField(null=True)
    duration_ms = fields.IntField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "webhook_delivery"
        indexes = (("status", "next_attempt_at"), ("endpoint_id", "created_at"))
