"""What a third-party client found: an idempotent replay adds nothing to usage, usage
credits are what was charged, and a reused idempotencyKey with another input is a
Conflict (the same input still returns the same job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neurall.orm.jobs import Job
from neurall.orm.privacy import UsageLog
from tests.support.factories import create_key, sign_up
from tests.support.graphql import CANCEL, GENERATE, small_input
from tests.support.jobs import wait_done

pytestmark = pytest.mark.usefixtures("database_url")

USAGE = "query($since: DateTime!) { usage(since: $since) { requests images credits } }"
CANARY = "idempotency-canary-51c9"


async def test_a_replay_makes_one_job_and_is_counted_once(client):
    await sign_up(client)
    key = await create_key(client)
    start = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    variables = {"input": small_input(prompt=CANARY), "key": "order-42"}
    results = [(await client.data(GENERATE, variables, api_key=key))["generate"] for _ in range(3)]
    assert {r["__typename"] for r in results} == {"Job"}
    assert len({r["id"] for r in results}) == 1
    job = await wait_done(client, results[0]["id"], key)
    assert job["status"] == "SUCCEEDED"
    assert await Job.all().count() == 1

    usage = (await client.data(USAGE, {"since": start}, api_key=key))["usage"]
    assert len(usage) == 1
    assert usage[0]["images"] == 1  # not 3
    assert usage[0]["credits"] == job["costCredits"]  # charged once
    generates = await UsageLog.filter(operation="generate").order_by("created_at")
    assert [bool(r.ledger_reference) for r in generates] == [True, False, False]
    # The digest that tells inputs apart is keyed: the prompt is nowhere in the row.
    row = await Job.get(id=job["id"]).values()
    assert CANARY not in str(row)
    assert row["request_digest"]


async def test_the_same_key_with_another_input_is_a_conflict(client):
    await sign_up(client)
    key = await create_key(client)
    first = await client.data(GENERATE, {"input": small_input(), "key": "k-1"}, api_key=key)
    again = await client.data(
        GENERATE, {"input": small_input(prompt="something else"), "key": "k-1"}, api_key=key
    )
    assert again["generate"]["__typename"] == "Conflict"
    assert again["generate"]["code"] == "CONFLICT"
    # Spelling out a default (null) is still the same input.
    same = await client.data(
        GENERATE, {"input": {**small_input(), "negativePrompt": None}, "key": "k-1"}, api_key=key
    )
    assert same["generate"]["id"] == first["generate"]["id"]
    # Keys are per account: another account may use the same key for anything.
    await client.http.post("/graphql", json={"query": "mutation { logOut }"})
    await sign_up(client, "grace@example.com")
    other = await client.data(GENERATE, {"input": small_input(prompt="x"), "key": "k-1"})
    assert other["generate"]["__typename"] == "Job"


async def test_a_job_canceled_before_it_ran_counts_zero_credits(client):
    await sign_up(client)
    key = await create_key(client)
    start = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    # The worker is busy with the first job while the second waits; cancel the second.
    busy = await client.data(GENERATE, {"input": small_input(steps=30)}, api_key=key)
    queued = await client.data(GENERATE, {"input": small_input(seed=9)}, api_key=key)
    canceled = await client.data(CANCEL, {"id": queued["generate"]["id"]}, api_key=key)
    assert canceled["cancelJob"]["costCredits"] == 0
    done = await wait_done(client, busy["generate"]["id"], key)
    usage = (await client.data(USAGE, {"since": start}, api_key=key))["usage"]
    assert usage[0]["credits"] == done["costCredits"]
