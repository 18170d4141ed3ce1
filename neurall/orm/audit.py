"""The security audit log: who did what to an account, from where, and when.

Rows hold no secrets, no e-mail addresses and no free text: the event name, the account's
id, the client's IP and user agent, and a few allow-listed details (neurall.audit). They are
deleted after NEURALL_AUDIT_RETENTION_DAYS by ``neurall.audit.delete_expired_audit_events``.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    id = fields.UUIDField(primary_key=True)
    # Indexed for the retention sweep, which deletes by age.
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    event = fields.CharField(max_length=40)
    # A plain column, not a foreign key: the trail of an erased account must not block or
    # be cascaded by the erasure (the account row itself is anonymised, not deleted).
    account_id = fields.UUIDField(null=True, db_index=True)
    ip = fields.CharField(max_length=64)
    user_agent = fields.CharField(max_length=256)
    details = fields.JSONField(default=dict)

    class Meta:
        table = "audit_event"
