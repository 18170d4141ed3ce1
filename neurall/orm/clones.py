"""Clones: a LoRA adapter fine-tuned on a user's photos (persistence only).

Privacy: the photos themselves are never in the database. While a clone waits or trains they
sit in temporary storage (``uploads/clones/<id>/``); ``source_images_deleted`` turns true once
they are gone, whatever the outcome. The trained adapter is a file in the model store, named
by ``adapter_key``, kept until the clone is deleted.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CloneStatus(StrEnum):
    QUEUED = "QUEUED"
    TRAINING = "TRAINING"
    READY = "READY"
    FAILED = "FAILED"


ACTIVE_CLONE_STATUSES = frozenset({CloneStatus.QUEUED, CloneStatus.TRAINING})
ENDED_CLONE_STATUSES = frozenset({CloneStatus.READY, CloneStatus.FAILED})


class Clone(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "neurall.Account", related_name="clones", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    trigger_word = fields.CharField(max_length=32)
    status = fields.CharEnumField(CloneStatus, max_length=16, default=CloneStatus.QUEUED)
    # The catalog entry it is trained on; it generates only with that model. Clones older
    # than the catalog were trained on the one model, "tiny-sd" in the built-in catalog.
    base_model = fields.CharField(max_length=64, default="tiny-sd", db_default="tiny-sd")
    image_count = fields.IntField()
    step = fields.IntField(default=0)
    total_steps = fields.IntField()
    # Training loss of the latest step; null until the first step.
    loss = fields.FloatField(null=True)
    # Deliveries of the training message that started training (a crash redelivers it).
    attempts = fields.IntField(default=0)
    error = fields.CharField(max_length=500, null=True)
    source_images_deleted = fields.BooleanField(default=False)
    # The adapter's key in the model store (neurall.clones.store); set once it is READY.
    adapter_key = fields.CharField(max_length=300, null=True)
    held_credits = fields.IntField(default=0)
    cost_credits = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "clone"
        indexes = (("account_id", "created_at"),)

    @property
    def ledger_reference(self) -> str:
        return f"clone:{self.id}"

    @property
    def progress(self) -> float:
        if self.status == CloneStatus.READY:
            return 1.0
        return self.step / self.total_steps if self.total_steps else 0.0
