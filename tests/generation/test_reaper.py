"""The reaper and the outage rules, in-process on both databases: a job whose worker is
gone is handed on or failed and refunded, a job the service failed is never charged, and
what a broker outage interrupts (a dispatch, a payload deletion) is finished later."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from neurall.billing import ledger
from neurall.clock import now
from neurall.clones.store import ModelStore
from neurall.generation import service
from neurall.generation.params import validate
from neurall.generation.reaper import GAVE_UP, reap
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.triton_client import _triton_error
from neurall.gpu.types import InferenceUnavailable
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.orm.jobs import Job, JobSource, JobStatus
from neurall.outages import ServiceUnavailableError, is_outage
from neurall.storage import make_storage
from neurall.storage.payloads import MemoryPayloadStore
from tests.support.runtime import generation_settings


class Broker:
    """The queue and the payload store, with a switch to take the broker down. Nothing
    consumes its queue; ``lose`` drops what it holds, as a purge would."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[uuid.UUID] = []
        self.queue: list[uuid.UUID] = []

    async def enqueue(self, job_id: uuid.UUID) -> None:
        if self.down:
            raise ConnectionRefusedError("broker down")
        self.sent.append(job_id)
        self.queue.append(job_id)

    async def depth(self) -> int:
        return len(self.queue)

    def lose(self, job_ids: list[uuid.UUID]) -> None:
        self.queue = [j for j in self.queue if j not in job_ids]


class FlakyPayloads(MemoryPayloadStore):
    def __init__(self, broker: Broker) -> None:
        super().__init__()
        self.broker = broker

    def is_connected(self) -> bool:
        return not self.broker.down

    async def delete(self, job_id: uuid.UUID) -> None:
        if self.broker.down:
            raise ConnectionResetError("broker down")
        await super().delete(job_id)


@pytest.fixture
async def stack(
    tmp_path: Path, database_url: str, tiny_models: Path
) -> AsyncIterator[tuple[GenerationRuntime, Broker, Account]]:
    settings = generation_settings(tmp_path / "data", database_url, tiny_models)
    broker = Broker()
    storage = make_storage(settings)
    runtime = GenerationRuntime.from_settings(settings, storage, ModelStore(storage))
    runtime.payloads = FlakyPayloads(broker)
    runtime.set_enqueue(broker.enqueue, broker.depth)
    await runtime.start()
    async with database.database(database_url):
        account = await Account.create(email="ada@example.com", password_hash="x")
        await ledger.grant(account.id, 100, "test", "grant:ada")
        yield runtime, broker, account
    await runtime.close()


async def _submit(runtime: GenerationRuntime, account: Account, source: JobSource) -> Job:
    params = validate({"prompt": "a lighthouse", "steps": 10}, runtime.settings)
    return await service.submit(account, source, params, runtime)


async def _running(job: Job, *, step: int, attempts: int, lease_left_s: float) -> None:
    """As if a worker had started attempt ``attempts`` and reached ``step``."""
    await Job.filter(id=job.id).update(
        status=JobStatus.RUNNING,
        step=step,
        attempts=attempts,
        started_at=now(),
        lease_expires_at=now() + timedelta(seconds=lease_left_s),
    )


async def _credits(account: Account) -> tuple[int, int]:
    await account.refresh_from_db(fields=["balance", "held"])
    return account.balance, account.held


async def test_a_job_whose_lease_expired_is_queued_again_and_sent(stack: Any):
    runtime, broker, account = stack
    job = await _submit(runtime, account, JobSource.PLAYGROUND)
    await _running(job, step=6, attempts=1, lease_left_s=-1)
    live = await _submit(runtime, account, JobSource.PLAYGROUND)
    await _running(live, step=2, attempts=1, lease_left_s=60)
    broker.sent.clear()

    reaped = await reap(runtime)
    assert (reaped.requeued, reaped.failed) == (1, 0)
    assert broker.sent == [job.id]
    requeued = await Job.get(id=job.id)
    assert (requeued.status, requeued.step, requeued.lease_expires_at) == (
        JobStatus.QUEUED,
        0,
        None,
    )
    assert (await Job.get(id=live.id)).status == JobStatus.RUNNING  # its worker is alive
    assert (await reap(runtime)).requeued == 0


async def test_a_job_out_of_attempts_or_request_is_failed_and_refunded_in_full(stack: Any):
    runtime, _, account = stack
    balance, _ = await _credits(account)
    tired = await _submit(runtime, account, JobSource.PLAYGROUND)
    await _running(tired, step=9, attempts=runtime.settings.generation_max_retries + 1,
                   lease_left_s=-1)  # fmt: skip
    lost = await _submit(runtime, account, JobSource.API)
    await runtime.payloads.delete(lost.id)  # its request died with a broker restart
    await _running(lost, step=3, attempts=1, lease_left_s=-1)

    assert (await reap(runtime)).failed == 2
    for job in (tired, lost):
        ended = await Job.get(id=job.id)
        assert (ended.status, ended.error, ended.cost_credits) == (JobStatus.FAILED, GAVE_UP, 0)
    assert await _credits(account) == (balance, 0)


async def test_cancelling_a_job_the_service_gave_up_on_charges_nothing(stack: Any):
    runtime, _, account = stack
    balance, _ = await _credits(account)
    job = await _submit(runtime, account, JobSource.PLAYGROUND)
    await _running(job, step=6, attempts=1, lease_left_s=-1)
    canceled = await service.cancel(account, str(job.id), runtime)
    assert (canceled.status, canceled.cost_credits) == (JobStatus.CANCELED, 0)
    assert await _credits(account) == (balance, 0)


async def test_a_failure_during_a_broker_outage_is_written_and_its_payload_reaped(stack: Any):
    runtime, broker, account = stack
    balance, _ = await _credits(account)
    job = await _submit(runtime, account, JobSource.API)
    broker.down = True
    failed = await service.fail(job.id, "Inference failed.", runtime)
    assert failed is not None
    assert failed.status == JobStatus.FAILED
    assert await _credits(account) == (balance, 0)
    assert (await Job.get(id=job.id)).payload_orphaned
    assert await runtime.payloads.get(job.id) is not None  # still there, for now

    assert (await reap(runtime)).payloads == 0  # the broker is still down: nothing yet
    broker.down = False
    assert (await reap(runtime)).payloads == 1
    assert await runtime.payloads.get(job.id) is None
    assert not (await Job.get(id=job.id)).payload_orphaned


async def test_during_a_broker_outage_playground_jobs_wait_and_api_jobs_are_refused(
    stack: Any,
):
    runtime, broker, account = stack
    broker.down = True
    with pytest.raises(ServiceUnavailableError):
        await _submit(runtime, account, JobSource.API)
    assert await Job.filter(source=JobSource.API).count() == 0  # nothing was created

    job = await _submit(runtime, account, JobSource.PLAYGROUND)
    assert job.status == JobStatus.QUEUED
    assert (await Job.get(id=job.id)).dispatch_pending
    assert (await reap(runtime)).dispatched == 0
    broker.down = False
    assert (await reap(runtime)).dispatched == 1
    assert broker.sent == [job.id]
    assert not (await Job.get(id=job.id)).dispatch_pending


async def _sent_minutes_ago(jobs: list[Job], minutes: float) -> None:
    await Job.filter(id__in=[j.id for j in jobs]).update(
        dispatched_at=now() - timedelta(minutes=minutes)
    )


async def test_only_messages_the_queue_is_short_of_are_sent_again(stack: Any):
    runtime, broker, account = stack
    jobs = [await _submit(runtime, account, JobSource.PLAYGROUND) for _ in range(5)]
    timeout_min = runtime.settings.dispatch_timeout_s / 60
    for age, job in zip([9, 8, 7, 6, 0], jobs, strict=True):
        await _sent_minutes_ago([job], timeout_min + age)
    broker.sent.clear()

    # A long but healthy queue: every waiting job has its message, however old.
    assert (await reap(runtime)).resent == 0
    # A job a worker started is not waiting for a message, lost or not.
    await _running(jobs[0], step=1, attempts=1, lease_left_s=60)
    broker.lose([jobs[0].id])
    assert (await reap(runtime)).resent == 0

    # Two messages lost (a purge, a crash between commit and publish): the two oldest
    # overdue jobs are sent again, whichever messages went missing.
    broker.lose([jobs[2].id, jobs[4].id])
    assert (await reap(runtime)).resent == 2
    assert broker.sent == [jobs[1].id, jobs[2].id]
    resent = await Job.get(id=jobs[1].id)
    assert resent.dispatched_at is not None
    assert resent.dispatched_at > now() - timedelta(minutes=1)
    # The queue is whole again (by count): the next pass sends nothing.
    assert (await reap(runtime)).resent == 0

    # A job lost within the timeout waits for it.
    broker.lose([jobs[1].id, jobs[2].id, jobs[3].id, jobs[4].id])
    broker.sent.clear()
    await _sent_minutes_ago([jobs[1], jobs[2]], 0)
    assert (await reap(runtime)).resent == 2  # jobs[3], and jobs[4] (sent long ago)
    assert broker.sent == [jobs[3].id, jobs[4].id]


async def test_while_the_broker_is_down_a_lost_message_waits_for_it(stack: Any):
    runtime, broker, account = stack
    job = await _submit(runtime, account, JobSource.PLAYGROUND)
    await _sent_minutes_ago([job], runtime.settings.dispatch_timeout_s / 60 + 1)
    broker.lose([job.id])
    broker.sent.clear()
    broker.down = True
    assert (await reap(runtime)).resent == 0
    assert (await Job.get(id=job.id)).dispatch_pending  # sent by the next pass after it
    broker.down = False
    assert (await reap(runtime)).dispatched == 1
    assert broker.sent == [job.id]


def test_triton_says_a_model_is_loading_the_same_way_over_rpc_and_in_a_stream():
    for details in ("Request for unknown model: 'neurall_txt2img' is not found", "unavailable"):
        assert isinstance(_triton_error(None, details), InferenceUnavailable)
    assert not isinstance(_triton_error(None, "invalid input shape"), InferenceUnavailable)


def test_outages_are_told_from_bugs_through_the_cause_chain():
    wrapped = RuntimeError("query failed")
    wrapped.__cause__ = ConnectionRefusedError("refused")
    assert is_outage(wrapped)
    assert is_outage(RuntimeError("Connection was not opened"))
    assert not is_outage(ValueError("bad input"))
    assert not is_outage(RuntimeError("a bug"))
