"""Recording security-relevant account events, and forgetting them after a while.

What is recorded and why: sign-ups, log-ins (successes and failures), API key creation,
revocation and regeneration, e-mail and password changes, data exports and erasures, so a
user or an operator can answer "who got into this account, and what did they change?".

What is never recorded: passwords, API keys or their hashes, session tokens, e-mail
addresses, prompts. ``record`` accepts only the detail names in ``SAFE_DETAILS``, so a
careless call fails loudly in tests instead of writing a secret. A failed log-in names the
account only when the e-mail belongs to one; the address typed is never stored, because a
log of mistyped or probed addresses of people who are not users is personal data with no
purpose here.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from neurall.orm.audit import AuditEvent

log = logging.getLogger(__name__)

_MAX_USER_AGENT = 256
_MAX_DETAIL_TEXT = 100


class AuditEventType(StrEnum):
    SIGN_UP = "sign_up"
    LOG_IN = "log_in"
    LOG_IN_FAILED = "log_in_failed"
    LOG_OUT = "log_out"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    API_KEY_REGENERATED = "api_key_regenerated"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    API_KEY_SPEND_LIMIT_SET = "api_key_spend_limit_set"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint_created"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint_deleted"
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated"  # noqa: S105 - an event name
    # The server turned an endpoint off (410 Gone, or failing for too long).
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    EMAIL_CHANGED = "email_changed"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event name
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    DATA_EXPORT_REQUESTED = "data_export_requested"
    ACCOUNT_ERASED = "account_erased"


# Detail name -> what it may hold. Ids, scope names and short fixed reasons only.
SAFE_DETAILS = frozenset(
    {
        "api_key_id",  # the key's UUID, never its secret or hash
        "new_api_key_id",  # regenerate: the replacement key's UUID
        "scopes",  # list of ApiKeyScope names
        "reason",  # short fixed word, e.g. "wrong_password", "unknown_account"
        "export_id",
        "webhook_endpoint_id",
        "via",  # "session", "api_key" or "email_link"
    }
)


def _clean_detail(name: str, value: object) -> object:
    if name not in SAFE_DETAILS:
        raise ValueError(f"audit detail {name!r} is not in SAFE_DETAILS")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | frozenset | set):
        return sorted(str(v)[:_MAX_DETAIL_TEXT] for v in value)
    if isinstance(value, str | int | bool) or value is None:
        return value if not isinstance(value, str) else value[:_MAX_DETAIL_TEXT]
    raise ValueError(f"audit detail {name!r} has unsupported type {type(value).__name__}")


async def record(
    event: AuditEventType,
    account_id: uuid.UUID | None,
    ip: str,
    user_agent: str,
    **safe_details: object,
) -> AuditEvent:
    """Append one event. ``safe_details`` names must be in SAFE_DETAILS (else ValueError)."""
    details = {name: _clean_detail(name, value) for name, value in safe_details.items()}
    return await AuditEvent.create(
        event=str(event),
        account_id=account_id,
        ip=ip[:64],
        user_agent=user_agent[:_MAX_USER_AGENT],
        details=details,
    )


async def delete_expired_audit_events(now: datetime, retention_days: int = 365) -> int:
    """Delete audit events older than ``retention_days`` (NEURALL_AUDIT_RETENTION_DAYS,
    default 365) in one bulk DELETE, and return how many went.

    TTL: one year by default. Why: the trail must outlive the slow discovery of an account
    takeover or a disputed change (months), while IP addresses and user agents are
    personal data that must not be kept longer than that purpose needs. The retention
    sweeper calls this with its settings' value.
    """
    cutoff = now - timedelta(days=retention_days)
    deleted = await AuditEvent.filter(created_at__lt=cutoff).delete()
    log.info("deleted %d audit events older than %d days", deleted, retention_days)
    return deleted
