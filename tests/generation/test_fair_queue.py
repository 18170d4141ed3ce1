"""Fair turns, the BATCH lane and ``generate(wait:)`` on the embedded queue (StubBroker, one
worker thread, the tiny pipeline), over real HTTP on both databases. The same rules on
RabbitMQ are in test_distributed.py, on its stack."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import pytest

from neurall.app import SERVICES
from tests.support.factories import create_key, sign_up
from tests.support.graphql import CANCEL, GENERATE_WAIT, JOB_STARTS, small_input
from tests.support.poll import until

pytestmark = [pytest.mark.usefixtures("database_url"), pytest.mark.slow]

MODELS = "{ models { id creditsPerImage batchCreditsPerImage } }"


async def account(client: Any, email: str) -> str:
    await sign_up(client, email=email)
    return await create_key(client)


async def submit(client: Any, key: str, wait: int | None = None, **overrides: Any) -> dict:
    variables = {"input": small_input(**overrides), "wait": wait}
    job = (await client.data(GENERATE_WAIT, variables, api_key=key))["generate"]
    assert job["__typename"] == "Job", job
    return job


async def jobs(client: Any, key: str) -> list[dict]:
    data = await client.data(JOB_STARTS, api_key=key)
    return [edge["node"] for edge in data["jobs"]["edges"]]


async def test_fair_turns_a_batch_lane_and_truthful_positions(client):
    key_a = await account(client, "a@example.com")
    key_b = await account(client, "b@example.com")
    # A long job holds the one worker thread, so everything after it waits; it is
    # canceled once the queue is read, which frees the thread.
    blocker = await submit(client, key_a, steps=150, width=256, height=256)
    await until(lambda: jobs(client, key_a), lambda js: js[0]["status"] == "RUNNING", within=30)
    batch = [
        (await submit(client, key_a, priority="BATCH", steps=1, seed=n))["id"] for n in range(6)
    ]
    standard_a = [(await submit(client, key_a, steps=1, seed=n))["id"] for n in range(15)]
    job_b = (await submit(client, key_b, steps=1))["id"]

    waiting = {j["id"]: j for j in await jobs(client, key_a) + await jobs(client, key_b)}
    assert {waiting[i]["priority"] for i in batch} == {"BATCH"}
    positions = {i: j["queuePosition"] for i, j in waiting.items() if j["status"] == "QUEUED"}
    assert sorted(positions.values()) == list(range(len(positions))), positions
    await client.data(CANCEL, {"id": blocker["id"]}, api_key=key_a)

    ended = await until(
        lambda: jobs(client, key_a),
        lambda js: all(j["status"] == "SUCCEEDED" for j in js if j["id"] != blocker["id"]),
        within=120,
        every=0.5,  # the server shares this loop: a slower poll leaves it the CPU
        what="every job of A to succeed",
    )
    done = {j["id"]: j for j in ended + await jobs(client, key_b)}
    started = sorted(positions, key=lambda i: done[i]["startedAt"])
    # The positions said the order the jobs started in, under fairness.
    assert started == sorted(positions, key=positions.get)
    # B's one job went before A's backlog (at least 12 of its 16), and the STANDARD jobs
    # before the BATCH jobs queued earlier (at least 4 of the 6); those ran once nothing
    # else waited.
    later_a = [i for i in standard_a if done[i]["startedAt"] > done[job_b]["startedAt"]]
    assert len(later_a) >= 12
    assert all(done[i]["startedAt"] > done[job_b]["startedAt"] for i in batch)
    assert all(done[i]["startedAt"] > done[standard_a[-1]]["startedAt"] for i in batch)
    # A BATCH job of the native size and default steps costs the model's batch price.
    models = {m["id"]: m for m in (await client.data(MODELS))["models"]}
    native = await submit(client, key_b, wait=30, priority="BATCH", steps=None, seed=1)
    model = models[native["model"]]
    assert native["status"] == "SUCCEEDED"
    assert native["costCredits"] == model["batchCreditsPerImage"]


async def test_generate_waits_for_the_end_or_the_deadline(client):
    key = await account(client, "w@example.com")
    # More than a minute is refused, and nothing is queued.
    refused = (await client.data(GENERATE_WAIT, {"input": small_input(), "wait": 61}, api_key=key))[
        "generate"
    ]
    assert refused["__typename"] == "InvalidInput"
    assert refused["fields"] == ["wait"]
    assert await jobs(client, key) == []
    # A short job: the answer is the finished job, its images included.
    short = await submit(client, key, wait=30, steps=2)
    assert short["status"] == "SUCCEEDED"
    assert len(short["images"]) == 1
    # A long job: the answer comes after about the wait, with the job as it stands.
    began = time.monotonic()
    long = await submit(client, key, wait=3, steps=150, width=256, height=256)
    assert 2.5 <= time.monotonic() - began < 10
    assert long["status"] in ("QUEUED", "RUNNING")
    # A client that leaves ends its wait, never the job.
    bus = client.http.app[SERVICES].generation.bus
    headers = {"Authorization": f"Bearer {key}"}
    body = {"query": GENERATE_WAIT, "variables": {"input": small_input(steps=2), "wait": 60}}
    async with aiohttp.ClientSession() as plain:
        request = asyncio.ensure_future(
            plain.post(str(client.port_url("/graphql")), json=body, headers=headers)
        )
        left = await until(
            lambda: jobs(client, key), lambda js: len(js) == 3, within=30, what="the third job"
        )
        request.cancel()
    gone = next(j for j in left if j["id"] not in (short["id"], long["id"]))
    watched = bus._local.watched  # the in-process bus's subscribers
    await until(lambda: not watched(uuid.UUID(gone["id"])), within=10, what="the wait to end")
    await client.data(CANCEL, {"id": long["id"]}, api_key=key)
    ended = await until(
        lambda: jobs(client, key),
        lambda js: next(j for j in js if j["id"] == gone["id"])["status"] == "SUCCEEDED",
        within=60,
        every=0.5,
        what="the left job to run all the same",
    )
    assert ended
