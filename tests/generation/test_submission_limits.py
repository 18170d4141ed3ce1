"""Abuse limits on submission: the per-account generate bucket and the active-jobs cap."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from neurall.app import create_app
from neurall.billing import ledger
from neurall.clones.store import ModelStore
from neurall.errors import RateLimitedError
from neurall.generation import service
from neurall.generation.lifecycle import queue_position, queue_positions
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.orm.jobs import Job, JobSource, JobStatus
from neurall.storage import make_storage
from tests.support.factories import sign_up
from tests.support.graphql import GENERATE, GraphQLClient, small_input
from tests.support.runtime import generation_settings


@pytest.fixture
async def held_queue(
    tmp_path: Path, database_url: str, tiny_models: Path
) -> AsyncIterator[tuple[GenerationRuntime, list[uuid.UUID]]]:
    """A runtime whose queue only records: every accepted job stays QUEUED, as when all
    workers are busy."""
    settings = generation_settings(
        tmp_path / "data", database_url, tiny_models, max_active_jobs_per_account=3
    )
    storage = make_storage(settings)
    runtime = GenerationRuntime.from_settings(settings, storage, ModelStore(storage))
    queued: list[uuid.UUID] = []

    async def record(job_id: uuid.UUID) -> None:
        queued.append(job_id)

    runtime.set_enqueue(record)
    await runtime.start()
    async with database.database(database_url):
        yield runtime, queued
    await runtime.close()


async def test_active_jobs_cap_refuses_extra_jobs_and_holds_nothing(held_queue):
    runtime, queued = held_queue
    account = await Account.create(email="busy@example.com", password_hash="x")
    await ledger.grant(account.id, 1000, "test", "grant:busy")
    params = validate({"prompt": "p", "steps": 2}, runtime.settings)
    jobs = [await service.submit(account, JobSource.PLAYGROUND, params, runtime) for _ in range(3)]
    totals = await ledger.entry_totals(account.id)

    with pytest.raises(RateLimitedError) as refused:
        await service.submit(account, JobSource.PLAYGROUND, params, runtime)
    assert refused.value.retry_after_s > 0
    assert "3 jobs" in str(refused.value)
    assert await Job.all().count() == 3
    assert await ledger.entry_totals(account.id) == totals  # the refused hold rolled back
    assert len(queued) == 3

    # Another account is not affected; an ended job frees a place.
    other = await Account.create(email="idle@example.com", password_hash="x")
    await ledger.grant(other.id, 1000, "test", "grant:idle")
    await service.submit(other, JobSource.PLAYGROUND, params, runtime)
    await service.cancel(account, str(jobs[0].id), runtime)
    assert (await Job.get(id=jobs[0].id)).status == JobStatus.CANCELED
    await service.submit(account, JobSource.PLAYGROUND, params, runtime)


async def test_a_page_of_queued_jobs_knows_each_place_in_two_queries(held_queue):
    runtime, _ = held_queue
    accounts = [await Account.create(email=f"q{i}@example.com", password_hash="x") for i in (1, 2)]
    params = validate({"prompt": "p", "steps": 2}, runtime.settings)
    for account in accounts:
        await ledger.grant(account.id, 1000, "test", f"grant:{account.id}")
    # Two accounts' jobs interleaved in the queue, one of them canceled.
    for _ in range(3):
        for account in accounts:
            await service.submit(account, JobSource.PLAYGROUND, params, runtime)
    first = await Job.filter(account_id=accounts[0].id).order_by("created_at").first()
    assert first is not None
    await service.cancel(accounts[0], str(first.id), runtime)
    page = await Job.filter(account_id=accounts[1].id).order_by("-created_at")
    positions = await queue_positions([*page, await Job.get(id=first.id)])
    assert positions == {job.id: await queue_position(job) for job in page}
    assert sorted(positions.values()) == [0, 2, 4]


@pytest.fixture
async def limited_client(
    aiohttp_client: Any, tmp_path: Path, database_url: str, tiny_models: Path
) -> GraphQLClient:
    settings = generation_settings(
        tmp_path / "limited", database_url, tiny_models, generates_per_minute_per_account=2
    )
    return GraphQLClient(await aiohttp_client(create_app(settings)))


async def test_generate_has_its_own_stricter_bucket(limited_client):
    client = limited_client
    await sign_up(client)
    # Invalid input is answered before the bucket: it costs no token.
    for _ in range(3):
        bad = (await client.data(GENERATE, {"input": small_input(width=7)}))["generate"]
        assert bad["__typename"] == "InvalidInput"
    jobs = []
    for n in range(2):
        variables = {"input": small_input(steps=1), "key": f"k{n}"}
        jobs.append((await client.data(GENERATE, variables))["generate"])
        assert jobs[-1]["__typename"] == "Job"
    refused = await client.post(
        GENERATE.replace("code message", "code message ... on RateLimited { retryAfterSeconds }"),
        {"input": small_input(steps=1)},
    )
    result = refused["data"]["generate"]
    assert result["__typename"] == "RateLimited"
    assert result["retryAfterSeconds"] > 0
    assert await Job.all().count() == 2
    # Replaying an accepted request is not a new request: same job, no token needed.
    replay = await client.data(GENERATE, {"input": small_input(steps=1), "key": "k0"})
    assert replay["generate"]["id"] == jobs[0]["id"]
    # Other operations still work: only generate is limited this tightly.
    assert (await client.data("{ me { id } }"))["me"] is not None
