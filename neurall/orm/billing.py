"""Credits: the append-only ledger, holds, Stripe purchases, disputes and webhook events.

The ledger is the record of truth. Each entry carries two signed changes: ``amount`` to the
account's balance and ``held_change`` to its held credits, so that at every commit
``Account.balance == sum(amount)`` and ``Account.held == sum(held_change)`` over its
entries (see neurall.billing.ledger for the rules).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from neurall.orm.accounts import Account


class LedgerEntry(Model):
    id = fields.UUIDField(primary_key=True)
    # RESTRICT: financial records outlive account erasure (the account row is anonymised,
    # never deleted while it has entries).
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="ledger_entries", on_delete=fields.RESTRICT
    )
    # A LedgerKind name (TOP_UP, GRANT, HOLD, RELEASE, CHARGE, REFUND, CHARGEBACK, ADJUSTMENT).
    kind = fields.CharField(max_length=16)
    amount = fields.IntField()
    held_change = fields.IntField(default=0)
    balance_after = fields.IntField()
    held_after = fields.IntField()
    # What caused the entry ("job:<uuid>", "stripe:checkout:<id>", "signup", ...). Unique
    # together with the kind: this is what makes every operation idempotent.
    reference = fields.CharField(max_length=255)
    job_id = fields.UUIDField(null=True)
    # Free text for grants and adjustments by an operator; never shown to other users.
    reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        unique_together = (("kind", "reference"),)
        indexes = (("account_id", "created_at"),)


class Hold(Model):
    """Credits reserved for one piece of work until it is settled or released."""

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="holds", on_delete=fields.RESTRICT
    )
    reference = fields.CharField(max_length=255, unique=True)
    job_id = fields.UUIDField(null=True)
    # The API key the work was submitted through: its spend limit counts this hold.
    api_key_id = fields.UUIDField(null=True)
    amount = fields.IntField()
    # "open", "settled" or "released".
    status = fields.CharField(max_length=16, default="open")
    charged = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credit_hold"
        indexes = (("api_key_id", "created_at"),)


class Purchase(Model):
    """One Stripe Checkout Session created by ``createCheckout``."""

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="purchases", on_delete=fields.RESTRICT
    )
    session_id = fields.CharField(max_length=255, unique=True)
    # Set when the payment completes; refunds and disputes name the payment intent.
    payment_intent = fields.CharField(max_length=255, null=True, unique=True)
    credits = fields.IntField()
    amount_cents = fields.IntField()
    currency = fields.CharField(max_length=8)
    # Credits already taken back by refunds (Stripe reports refunds cumulatively).
    refunded_credits = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "purchase"


class Dispute(Model):
    """A card dispute. While one is open the account cannot spend credits."""

    id = fields.CharField(max_length=255, primary_key=True)  # Stripe's dispute id
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "neurall.Account", related_name="disputes", on_delete=fields.RESTRICT
    )
    credits = fields.IntField()
    opened_at = fields.DatetimeField(auto_now_add=True)
    closed_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "dispute"


class StripeEvent(Model):
    """Each processed webhook event id, recorded once."""

    id = fields.CharField(max_length=255, primary_key=True)
    type = fields.CharField(max_length=100)
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stripe_event"
