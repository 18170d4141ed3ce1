"""The kinds of domain events and the small values each carries."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Stored by name. Job and clone events name their job or clone as the subject,
    account events the account, ``API_KEY_CREATED`` the key."""

    JOB_STARTED = "job.started"
    JOB_PROGRESS = "job.progress"  # payload: step
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELED = "job.canceled"
    CLONE_READY = "clone.ready"
    CLONE_FAILED = "clone.failed"
    CREDITS_LOW = "credits.low"  # payload: credits, threshold
    CREDITS_PURCHASED = "credits.purchased"  # payload: credits, amount_cents, currency, reference
    API_KEY_CREATED = "api_key.created"
    PASSWORD_CHANGED = "account.password_changed"  # noqa: S105 - an event name
    # payload: token_id (the link's token row, never the token), change
    EMAIL_VERIFICATION_ISSUED = "account.email_verification_issued"
    EMAIL_CHANGE_REQUESTED = "account.email_change_requested"  # payload: new_email, masked


# Recorded only when a subscriber wants them for the account (neurall.events.interest):
# a running job would otherwise write one every second whether anybody listens or not.
ON_DEMAND = frozenset({EventType.JOB_PROGRESS})
