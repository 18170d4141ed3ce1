"""Webhook event types and their thin JSON bodies.

A body is ``{"type", "timestamp", "data"}``. ``data`` holds the subject's public fields,
read when the delivery is sent (the delivery log stores no body): a job's id, status,
steps, credits, times, error and, once it succeeded, its image URLs with ``expiresAt``.
Never a prompt or any other part of the request, which API jobs do not even keep.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from neurall.orm.accounts import Account
from neurall.orm.clones import Clone
from neurall.orm.jobs import Job, JobImage
from neurall.orm.webhooks import WebhookDelivery


class EventType(StrEnum):
    """Enum names are the API's WebhookEventType; values are the wire ``type``."""

    JOB_STARTED = "job.started"
    JOB_PROGRESS = "job.progress"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELED = "job.canceled"
    CLONE_READY = "clone.ready"
    CLONE_FAILED = "clone.failed"
    CREDITS_LOW = "credits.low"
    # sendTestWebhook's event: sent whatever the endpoint subscribed to.
    WEBHOOK_TEST = "webhook.test"


SUBSCRIBABLE = frozenset(EventType) - {EventType.WEBHOOK_TEST}

# The job status each job event reports, whatever the job has become since.
_JOB_STATUS = {
    EventType.JOB_STARTED: "RUNNING",
    EventType.JOB_PROGRESS: "RUNNING",
    EventType.JOB_SUCCEEDED: "SUCCEEDED",
    EventType.JOB_FAILED: "FAILED",
    EventType.JOB_CANCELED: "CANCELED",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def body(delivery: WebhookDelivery, public_url: str, now: datetime) -> bytes:
    """The JSON body of ``delivery``'s event, built from the subject's current row."""
    event_type = EventType[delivery.event_type]
    payload = {
        "type": event_type.value,
        "timestamp": _iso(delivery.occurred_at),
        "data": await _data(event_type, delivery, public_url, now),
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def _data(
    event_type: EventType, delivery: WebhookDelivery, public_url: str, now: datetime
) -> dict[str, Any]:
    if event_type in _JOB_STATUS:
        return await _job_data(event_type, delivery, public_url, now)
    if event_type in (EventType.CLONE_READY, EventType.CLONE_FAILED):
        return await _clone_data(event_type, delivery.subject_id)
    if event_type == EventType.CREDITS_LOW:
        return await _credits_data(delivery.account_id)
    return {"endpointId": str(delivery.endpoint_id), "test": True}  # type: ignore[attr-defined]


async def _job_data(
    event_type: EventType, delivery: WebhookDelivery, public_url: str, now: datetime
) -> dict[str, Any]:
    job = await Job.get_or_none(id=delivery.subject_id) if delivery.subject_id else None
    data: dict[str, Any] = {
        "id": str(delivery.subject_id),
        "status": _JOB_STATUS[event_type],
    }
    if job is None:
        return data  # deleted since (history cleared, account erased): the id only
    data.update(
        source=job.source.value,
        step=_step(event_type, delivery, job),
        totalSteps=job.total_steps,
        heldCredits=job.held_credits,
        costCredits=job.cost_credits if event_type in _ENDED else None,
        error=job.error if event_type == EventType.JOB_FAILED else None,
        createdAt=_iso(job.created_at),
        startedAt=_iso(job.started_at),
        finishedAt=_iso(job.finished_at) if event_type in _ENDED else None,
        images=await _images(job, public_url, now) if event_type == EventType.JOB_SUCCEEDED else [],
    )
    return data


_ENDED = frozenset({EventType.JOB_SUCCEEDED, EventType.JOB_FAILED, EventType.JOB_CANCELED})


def _step(event_type: EventType, delivery: WebhookDelivery, job: Job) -> int:
    """The step the event happened at, not the one the job has reached since."""
    match event_type:
        case EventType.JOB_STARTED:
            return 0
        case EventType.JOB_PROGRESS:
            return delivery.step or 0
        case EventType.JOB_SUCCEEDED:
            return job.total_steps
    return job.step


async def _images(job: Job, public_url: str, now: datetime) -> list[dict[str, Any]]:
    images = await JobImage.filter(job_id=job.id).order_by("index")
    return [
        {
            "url": f"{public_url}/images/{image.id}",
            "width": image.width,
            "height": image.height,
            "seed": image.seed,
            "contentType": image.content_type,
            "expiresAt": _iso(image.expires_at),
        }
        for image in images
        if image.expires_at is None or image.expires_at > now
    ]


async def _clone_data(event_type: EventType, clone_id: uuid.UUID | None) -> dict[str, Any]:
    status = "READY" if event_type == EventType.CLONE_READY else "FAILED"
    clone = await Clone.get_or_none(id=clone_id) if clone_id else None
    data: dict[str, Any] = {"id": str(clone_id), "status": status}
    if clone is not None:
        data.update(
            totalSteps=clone.total_steps,
            heldCredits=clone.held_credits,
            costCredits=clone.cost_credits,
            error=clone.error if event_type == EventType.CLONE_FAILED else None,
            createdAt=_iso(clone.created_at),
            finishedAt=_iso(clone.finished_at),
        )
    return data


async def _credits_data(account_id: uuid.UUID) -> dict[str, Any]:
    account = await Account.get_or_none(id=account_id)
    if account is None:
        return {}
    return {
        "credits": account.balance - account.held,
        "heldCredits": account.held,
        "lowCreditThreshold": account.low_credit_threshold,
    }
