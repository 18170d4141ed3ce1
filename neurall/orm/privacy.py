"""Usage logs and data exports (privacy and retention).

Usage logs record how an API key was used, never what was asked: no variables, no prompts,
no payloads. They are deleted after NEURALL_USAGE_RETENTION_DAYS and on erasure. Exports
are zips built for their owner, deleted after NEURALL_EXPORT_TTL_S.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class UsageLog(Model):
    id = fields.UUIDField(primary_key=True)
    # Plain columns, not foreign keys: a revoked or deleted key must not take its history
    # (or block its deletion); erasure deletes an account's rows explicitly.
    account_id = fields.UUIDField(db_index=True)
    api_key_id = fields.UUIDField(null=True)
    # The root fields the operation selected ("generate", "job,jobs"), never its variables.
    operation = fields.CharField(max_length=100)
    duration_ms = fields.IntField()
    # Images the request asked for (0 for a replay of an idempotent request), and the
    # ledger reference ("job:<id>") of the work it created: usage() sums what that work
    # was finally charged, not what was held.
    images = fields.IntField(default=0)
    ledger_reference = fields.CharField(max_length=255, null=True)
    # The model (catalog id) of the job the operation created; null when it created none.
    model = fields.CharField(max_length=64, null=True)
    # "ok" or "error" (the operation returned GraphQL errors).
    status = fields.CharField(max_length=8)
    ip = fields.CharField(max_length=64)
    user_agent = fields.CharField(max_length=256)
    # Indexed for usage() by day and for the retention sweep, which deletes by age.
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "usage_log"
        indexes = (("account_id", "created_at"),)


class ExportStatus(StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class DataExport(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "neurall.Account", related_name="data_exports", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ExportStatus, max_length=16, default=ExportStatus.PENDING)
    # "exports/<id>.zip" once built; cleared when the file is deleted.
    storage_key = fields.CharField(max_length=300, null=True)
    size_bytes = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    ready_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "data_export"
