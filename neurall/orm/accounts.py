"""Accounts, their server-side sessions and their API keys.

Secrets never reach the database: sessions and API keys are stored as SHA-256 hashes of
the token, and passwords as argon2id hashes.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Account(Model):
    id = fields.UUIDField(primary_key=True)
    # Normalised (see neurall.accounts.emails). Null once the account is erased, so the
    # same address can sign up again while the anonymised ledger rows keep their account.
    email = fields.CharField(max_length=320, unique=True, null=True)
    name = fields.CharField(max_length=200, null=True)
    password_hash = fields.CharField(max_length=200, null=True)
    marketing_opt_in = fields.BooleanField(default=True)
    # Set once the address was confirmed through a link e-mailed to it.
    email_verified = fields.BooleanField(default=False)
    # A new address asked for in the profile; it replaces ``email`` only once confirmed.
    pending_email = fields.CharField(max_length=320, null=True)
    # Space-separated notice classes switched off (neurall.accounts.notice_switches.NoticeClass).
    notices_off = fields.CharField(max_length=200, default="")
    # Credits: ``balance`` is the sum of ledger entries, ``held`` the part reserved by
    # queued or running work. Both change only together with a ledger entry.
    balance = fields.IntField(default=0)
    held = fields.IntField(default=0)
    # credits.low webhooks fire when available credits fall below this; null: never.
    low_credit_threshold = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    erased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account"


class Session(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    # Absolute expiry; the idle expiry is derived from last_seen_at.
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "session"


class ApiKey(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    # Space-separated ApiKeyScope names; a handful of fixed words needs no join table.
    scopes = fields.CharField(max_length=100)
    # The key's own cap on credits held or charged through it per period (null: none).
    spend_limit_credits = fields.IntField(null=True)
    # "DAY" or "MONTH" (UTC calendar periods).
    spend_limit_period = fields.CharField(max_length=8, default="DAY")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
