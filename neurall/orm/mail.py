"""E-mail: the outbox, the tokens behind e-mailed links, and marketing campaigns.

Outbox rows hold what a message is about (a kind and a few ids), not its text: the text is
rendered when it is sent, so a queued row never holds a link's token, and the row is
deleted once the SMTP server took the message.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from neurall.orm.accounts import Account


class OutboxMessage(Model):
    id = fields.UUIDField(primary_key=True)
    # Null for mail to no account yet (a password reset request, whose account is looked
    # up when it is sent); erasure deletes an account's rows.
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="outbox_messages", on_delete=fields.CASCADE, null=True
    )
    kind = fields.CharField(max_length=40)
    to_address = fields.CharField(max_length=320)
    # Ids and small values the template needs (never a token or a password).
    params = fields.JSONField(default=dict)
    campaign_id = fields.UUIDField(null=True, db_index=True)
    attempts = fields.IntField(default=0)
    # A sender holds the row until then; another sender (a retry, the relay) waits.
    claimed_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "outbox_message"


class EmailToken(Model):
    """A link's token, stored as its SHA-256 hash: confirming an address or resetting a
    password. Single use: ``used_at`` is set by the one request that redeems it."""

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="email_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    # The address the link was sent to (the one a confirmation confirms).
    email = fields.CharField(max_length=320)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_token"


class Campaign(Model):
    """One marketing e-mail, sent once to every verified, subscribed account."""

    id = fields.UUIDField(primary_key=True)
    # SHA-256 of subject and bodies: running the same send again resumes this campaign.
    content_hash = fields.CharField(max_length=64, unique=True)
    subject = fields.CharField(max_length=300)
    text_body = fields.TextField()
    html_body = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign"


class CampaignRecipient(Model):
    """An account the campaign was queued for, written with its outbox row: a rerun after
    a crash skips it, so nobody gets the campaign twice."""

    id = fields.UUIDField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "neurall.Campaign", related_name="recipients", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="campaigns_received", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaign_recipient"
        unique_together = (("campaign", "account"),)
