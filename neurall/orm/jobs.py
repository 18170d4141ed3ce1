"""Generation jobs and their result images.

Privacy: the request itself (prompt, negative prompt, parameters) is stored in ``params``
only for PLAYGROUND jobs. API jobs keep it in an ephemeral payload store (see
neurall.storage.payloads) and this table holds only what running and billing the job
need: the step count and the number of images. Images record their own size and seed,
which the contract's Image type returns; they are deleted with the image.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})


class JobSource(StrEnum):
    PLAYGROUND = "PLAYGROUND"
    API = "API"


class JobPriority(StrEnum):
    """Which lane a job waits in (neurall.generation.turns): STANDARD jobs take fair turns
    between accounts; BATCH jobs take only the slots no STANDARD job waits for."""

    STANDARD = "STANDARD"
    BATCH = "BATCH"


class Job(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "neurall.Account", related_name="jobs", on_delete=fields.CASCADE
    )
    source = fields.CharEnumField(JobSource, max_length=16)
    status = fields.CharEnumField(JobStatus, max_length=16, default=JobStatus.QUEUED)
    # Unique per account (see Meta), so a retried `generate` returns the same job.
    idempotency_key = fields.CharField(max_length=200, null=True)
    # A keyed digest (HMAC with the server's secret) of the request, so a reused
    # idempotency key with another input is told apart without storing the input.
    request_digest = fields.CharField(max_length=64, null=True)
    # The request as sent: PLAYGROUND jobs only (null for API jobs, always).
    params = fields.JSONField(null=True)
    total_steps = fields.IntField()
    num_images = fields.IntField()
    # The catalog entry that runs the job (neurall.gpu.catalog): kept for API jobs too,
    # whose request is not, since it prices them. Rows older than the catalog ran the one
    # model a deployment had, which the built-in catalog calls "tiny-sd".
    model = fields.CharField(max_length=64, default="tiny-sd", db_default="tiny-sd")
    priority = fields.CharEnumField(
        JobPriority, max_length=16, default=JobPriority.STANDARD, db_default="STANDARD"
    )
    step = fields.IntField(default=0)
    eta_seconds = fields.FloatField(null=True)
    # The last JobEvent.seq given out; events are numbered from 1.
    seq = fields.IntField(default=0)
    attempts = fields.IntField(default=0)
    held_credits = fields.IntField(default=0)
    cost_credits = fields.IntField(null=True)
    error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    # Indexed: the fair-turn rule counts each account's recent starts (generation.turns).
    started_at = fields.DatetimeField(null=True, db_index=True)
    finished_at = fields.DatetimeField(null=True)
    # While RUNNING: until when the worker that runs attempt ``attempts`` holds the job. It
    # renews the lease as it works; the reaper takes over a job whose lease expired.
    lease_expires_at = fields.DatetimeField(null=True, db_index=True)
    # Accepted while the broker was down: the reaper sends its message once it is back.
    dispatch_pending = fields.BooleanField(default=False)
    # When its message was last sent (set with the row, so the API adds no write), and
    # when a worker last started it. A QUEUED job sent long ago and not started since may
    # have lost its message; the reaper sends it again (neurall.generation.reaper). Every
    # send clears ``received_at``: null means no worker has started the job since.
    dispatched_at = fields.DatetimeField(null=True, db_index=True)
    received_at = fields.DatetimeField(null=True)
    # The message whose turn started the current run. A message is a turn, not a job: the
    # worker that receives it starts whichever job the queue's rule picks (neurall.
    # generation.turns). When the same message comes back (RabbitMQ redelivered it, or
    # Dramatiq retries it), the run it started is the one to take over.
    started_by = fields.CharField(max_length=64, null=True, db_index=True)
    # An API job ended while the broker was down, so its payload could not be deleted yet:
    # the reaper deletes it once the broker is back (the payload also expires by itself).
    payload_orphaned = fields.BooleanField(default=False)

    class Meta:
        table = "job"
        unique_together = (("account", "idempotency_key"),)
        # The waiting jobs of one lane, oldest first: every pick and position reads them.
        indexes = (("status", "priority", "created_at"),)

    @property
    def ledger_reference(self) -> str:
        return f"job:{self.id}"


class JobImage(Model):
    id = fields.UUIDField(primary_key=True)
    job: fields.ForeignKeyRelation[Job] = fields.ForeignKeyField(
        "neurall.Job", related_name="images", on_delete=fields.CASCADE
    )
    index = fields.IntField()
    storage_key = fields.CharField(max_length=300)
    width = fields.IntField()
    height = fields.IntField()
    seed = fields.BigIntField()
    content_type = fields.CharField(max_length=50, default="image/png")
    # The safety checker flagged it (kept, or blurred, by the server's policy).
    flagged = fields.BooleanField(default=False)
    # API images: when the result is discarded; null for kept playground images.
    expires_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "job_image"
        unique_together = (("job", "index"),)
