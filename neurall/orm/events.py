"""Domain events: one row per thing that happened, written in the transaction that made it
happen (a transactional outbox), read by the relay (neurall.events.relay).

A row names its subject by id and carries a few small values its subscribers need (a step,
a masked address, an amount); never a prompt or any other part of a request. Subscribers
read the rest from the subject's current row, as webhook bodies always did. A row is
deleted once every subscriber handled it.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DomainEvent(Model):
    id = fields.UUIDField(primary_key=True)
    # A neurall.events.types.EventType name.
    type = fields.CharField(max_length=40)
    # The job, clone, account or key the event is about; relayed in order per subject.
    subject_id = fields.UUIDField()
    # Null only for events of no account; erasure deletes an account's pending events.
    account_id = fields.UUIDField(null=True, db_index=True)
    occurred_at = fields.DatetimeField()
    # Ids and small values (never a prompt, a token or a password).
    payload = fields.JSONField(default=dict)
    # Space-separated names of the subscribers that handled it, each in the transaction
    # that wrote its effects: a redelivered event skips them.
    handled_by = fields.CharField(max_length=300, default="")
    # A relay holds the row until then; another relay (a redelivery, the sweep) waits.
    claimed_until = fields.DatetimeField(null=True)

    class Meta:
        table = "domain_event"
        # The relay's "oldest waiting event of this subject", and the sweep's scan.
        indexes = (("subject_id", "occurred_at"), ("occurred_at",))
