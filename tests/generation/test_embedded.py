"""The embedded path: `neurall serve` alone (StubBroker, worker threads, in-process
pipeline) driven over real HTTP and a real graphql-transport-ws socket."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from neurall.orm.billing import Hold
from neurall.orm.jobs import Job
from tests.support.events import check_progress, png_size, ws_stream
from tests.support.factories import create_key, sign_up
from tests.support.graphql import CANCEL, GENERATE, JOB, ME, small_input

pytestmark = [pytest.mark.usefixtures("database_url"), pytest.mark.slow]


def base(client: Any) -> str:
    return str(client.port_url("")).rstrip("/")


def session_cookie(client: Any) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in client.http.session.cookie_jar)


async def generate(client: Any, api_key: str | None = None, **overrides: Any) -> dict:
    data = await client.data(GENERATE, {"input": small_input(**overrides)}, api_key=api_key)
    return data["generate"]


async def blocker(client: Any, api_key: str) -> dict:
    """A long job that keeps the single embedded worker thread busy, so the next job is
    observably QUEUED (and its stream is seen from step 0)."""
    job = await generate(client, api_key, steps=60, width=72, height=64)
    assert job["__typename"] == "Job", job
    return job


async def fetch(client: Any, url: str, api_key: str | None = None) -> tuple[int, bytes]:
    path = url.split("://", 1)[1].split("/", 1)[1]
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = await client.http.get("/" + path, headers=headers)
    return response.status, await response.read()


async def test_api_job_streams_every_step_then_a_png(client):
    await sign_up(client)
    key = await create_key(client)
    first = await blocker(client, key)
    job = await generate(client, key, width=64, height=96)
    assert job["__typename"] == "Job", job
    assert job["source"] == "API"
    assert job["params"] is None
    stream = await ws_stream(base(client), api_key=key).open(job["id"])
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert events[0]["type"] in ("QUEUED", "POSITION")
    assert events[0]["step"] == 0
    check_progress(events, 4)
    (image,) = events[-1]["images"]
    assert (image["width"], image["height"], image["seed"]) == (64, 96, 7)
    assert image["expiresAt"] is not None
    status, body = await fetch(client, image["url"], key)
    assert status == 200
    assert png_size(body) == (64, 96)
    # Nobody else gets it: no credentials, or another account's key.
    client.http.session.cookie_jar.clear()
    assert (await fetch(client, image["url"]))[0] == 404
    await sign_up(client, email="eve@example.com")
    other = await create_key(client)
    assert (await fetch(client, image["url"], other))[0] == 404
    # Same seed, same parameters: the same bytes.
    again = await generate(client, key, width=64, height=96)
    again_stream = await ws_stream(base(client), api_key=key).open(again["id"])
    try:
        again_events = await again_stream.until_end()
    finally:
        await again_stream.close()
    status, again_body = await fetch(client, again_events[-1]["images"][0]["url"], key)
    assert again_body == body
    # The private request never reached the database.
    for row in await Job.filter(id__in=[first["id"], job["id"], again["id"]]):
        assert row.params is None


async def test_playground_job_keeps_params_and_is_charged(client):
    account = await sign_up(client)
    cookie = session_cookie(client)
    job = await generate(client, steps=3)
    assert job["source"] == "PLAYGROUND"
    assert job["params"]["prompt"] == "a red fox in the snow"
    assert job["params"]["steps"] == 3
    stream = await ws_stream(base(client), cookie=cookie).open(job["id"])
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert events[-1]["type"] == "SUCCEEDED"
    assert events[-1]["images"][0]["expiresAt"] is None
    done = (await client.data(JOB, {"id": job["id"]}))["job"]
    assert done["status"] == "SUCCEEDED"
    assert done["costCredits"] == job["heldCredits"]
    me = (await client.data(ME))["me"]
    assert me == {"credits": account["credits"] - job["heldCredits"], "heldCredits": 0}
    status, body = await fetch(client, done["images"][0]["url"])  # the session cookie
    assert status == 200
    assert png_size(body) == (64, 64)
    # Reconnecting after the end with afterSeq = the last seq: nothing more to send.
    stream = await ws_stream(base(client), cookie=cookie).open(job["id"], events[-1]["seq"])
    try:
        assert await stream.until_end() == []
    finally:
        await stream.close()


async def test_idempotency_key_returns_the_same_job_and_one_hold(client):
    await sign_up(client)
    variables = {"input": small_input(), "key": "order-42"}
    first = (await client.data(GENERATE, variables))["generate"]
    second = (await client.data(GENERATE, variables))["generate"]
    assert first["id"] == second["id"]
    assert await Hold.filter(reference=f"job:{first['id']}").count() == 1
    assert await Job.all().count() == 1


async def test_cancel_while_queued_and_while_running_releases_credits(client):
    account = await sign_up(client)
    key = await create_key(client)
    running = await blocker(client, key)
    queued = await generate(client, key)
    canceled = (await client.data(CANCEL, {"id": queued["id"]}, api_key=key))["cancelJob"]
    assert canceled["status"] == "CANCELED"
    assert canceled["costCredits"] == 0
    again = (await client.data(CANCEL, {"id": queued["id"]}, api_key=key))["cancelJob"]
    assert again["__typename"] == "Conflict"
    # Cancel the long one once it has made progress.
    stream = await ws_stream(base(client), api_key=key).open(running["id"])
    try:
        while True:
            event = (await stream.next())["event"]
            if event["type"] == "PROGRESS" and event["step"] >= 2:
                break
        result = (await client.data(CANCEL, {"id": running["id"]}, api_key=key))["cancelJob"]
        assert result["status"] == "CANCELED"
        rest = await stream.until_end()
    finally:
        await stream.close()
    assert rest[-1]["type"] == "CANCELED"
    me = (await client.data(ME, api_key=key))["me"]
    charged = result["costCredits"]
    assert 0 <= charged < running["heldCredits"]
    assert me == {"credits": account["credits"] - charged, "heldCredits": 0}
    job = await Job.get(id=running["id"])
    await asyncio.sleep(0.5)  # the worker notices at the next step and stops
    assert (await Job.get(id=running["id"])).status == job.status == "CANCELED"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"prompt": ""}, "input.prompt"),
        ({"prompt": "x" * 2001}, "input.prompt"),
        ({"negativePrompt": "x" * 2001}, "input.negativePrompt"),
        ({"width": 100}, "input.width"),
        ({"height": 4096}, "input.height"),
        ({"steps": 0}, "input.steps"),
        ({"steps": 151}, "input.steps"),
        ({"numImages": 9}, "input.numImages"),
        ({"guidanceScale": 30.5}, "input.guidanceScale"),
        ({"seed": -1}, "input.seed"),
        ({"cloneId": "00000000-0000-0000-0000-000000000000"}, "input.cloneId"),
    ],
)
async def test_bad_input_is_rejected_without_job_or_hold(client, overrides, field):
    await sign_up(client)
    result = (await client.data(GENERATE, {"input": small_input(**overrides)}))["generate"]
    assert result["__typename"] == "InvalidInput", result
    assert result["fields"] == [field]
    [error] = result["errors"]
    assert error["field"] == field
    _assert_readable(error["message"])
    assert await Job.all().count() == 0
    assert await Hold.all().count() == 0


# An input's name as the API spells it (numImages, guidanceScale): never in a message.
_INTERNAL_NAME = re.compile(r"\b[a-z]+[A-Z]\w*\b")


def _assert_readable(message: str) -> None:
    assert message[:1].isupper(), message
    assert message.endswith("."), message
    assert not _INTERNAL_NAME.search(message), message


async def test_each_bad_field_gets_its_own_readable_message(client):
    await sign_up(client)
    sent = small_input(steps=99999, guidanceScale=1000, numImages=100, seed=2**31 - 1)
    result = (await client.data(GENERATE, {"input": sent}))["generate"]
    assert result["__typename"] == "InvalidInput", result
    assert result["fields"] == ["input.guidanceScale", "input.numImages", "input.steps"]
    assert result["errors"] == [
        {"field": "input.guidanceScale", "message": "Guidance must be between 0 and 30."},
        {"field": "input.numImages", "message": "The number of images must be between 1 and 8."},
        {"field": "input.steps", "message": "Steps must be between 1 and 150 for this model."},
    ]
    # The summary joins the same sentences, so it names no internal field either.
    assert result["message"] == " ".join(e["message"] for e in result["errors"])
    _assert_readable(result["message"])


async def test_insufficient_credits(client):
    await sign_up(client)
    result = (
        await client.data(
            GENERATE, {"input": small_input(width=1024, height=1024, steps=150, numImages=8)}
        )
    )["generate"]
    assert result["__typename"] == "InsufficientCredits"
    assert await Job.all().count() == 0


async def test_someone_elses_job_is_invisible(client):
    await sign_up(client)
    job = await generate(client)
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="eve@example.com")
    key = await create_key(client)
    assert (await client.data(JOB, {"id": job["id"]}, api_key=key))["job"] is None
    cancel = (await client.data(CANCEL, {"id": job["id"]}, api_key=key))["cancelJob"]
    assert cancel["__typename"] == "NotFound"
    for job_id in (job["id"], "00000000-0000-0000-0000-000000000000"):
        stream = await ws_stream(base(client), api_key=key).open(job_id)
        try:
            message = await stream.next()
        finally:
            await stream.close()
        assert message["errors"][0]["message"] == "Not found."


async def test_triton_down_retries_then_fails_and_refunds(
    aiohttp_client, tmp_path, database_url, tiny_models
):
    from neurall.app import create_app
    from tests.support.graphql import GraphQLClient
    from tests.support.ports import free_port
    from tests.support.runtime import generation_settings

    settings = generation_settings(
        tmp_path / "down",
        database_url,
        tiny_models,
        inference_url=f"grpc://127.0.0.1:{free_port()}",  # nothing listens there
    )
    down = GraphQLClient(await aiohttp_client(create_app(settings)))
    account = await sign_up(down)
    key = await create_key(down)
    job = await generate(down, key)
    stream = await ws_stream(base(down), api_key=key).open(job["id"])
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert events[-1]["type"] == "FAILED"
    assert events[-1]["error"]
    # Each attempt started, then went back to the queue until the retries ran out.
    row = await Job.get(id=job["id"])
    assert row.attempts == settings.generation_max_retries + 1
    me = (await down.data(ME, api_key=key))["me"]
    assert me == {"credits": account["credits"], "heldCredits": 0}
    assert (await down.http.get("/healthz")).status == 200


JOBS = """
query($first: Int, $after: String, $status: JobStatus) {
  jobs(first: $first, after: $after, status: $status) {
    edges { cursor node { id status } } pageInfo { hasNextPage endCursor }
  }
}
"""
ESTIMATE = "query($input: GenerateInput!) { estimateCost(input: $input) }"


async def test_estimate_cost_matches_the_hold_and_jobs_pages(client):
    await sign_up(client)
    estimate = (await client.data(ESTIMATE, {"input": small_input(numImages=3)}))["estimateCost"]
    job = await generate(client, numImages=3)
    assert estimate == job["heldCredits"] == 3
    bad = await client.post(ESTIMATE, {"input": small_input(width=7)})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    ids = [job["id"]] + [(await generate(client, seed=i))["id"] for i in range(2)]
    first = (await client.data(JOBS, {"first": 2}))["jobs"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await client.data(JOBS, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["jobs"]
    assert rest["pageInfo"]["hasNextPage"] is False
    seen = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert sorted(seen) == sorted(ids)
    assert len(set(seen)) == 3
