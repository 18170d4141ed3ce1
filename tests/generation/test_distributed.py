"""The distributed form as separate processes: `neurall serve`, `neurall worker`,
`neurall gpu` (Triton via PyTriton), RabbitMQ and PostgreSQL, talking over the network.

Workers are started by each test after it has queued its jobs, so the jobs are observably
QUEUED first (every PROGRESS event is seen) and the 8 concurrent jobs reach Triton together.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest

from neurall.crash_points import EXIT_CODE
from tests.support.events import check_progress, png_size, ws_stream
from tests.support.graphql import GENERATE, GENERATE_WAIT, JOB_STARTS, ME, small_input
from tests.support.ports import free_port
from tests.support.processes import start_worker, wait_http
from tests.support.services import rabbitmqctl
from tests.support.stack_api import stack_account

pytestmark = pytest.mark.slow


async def download(api: Any, url: str) -> bytes:
    headers = {"Authorization": f"Bearer {api.key}"}
    async with aiohttp.ClientSession() as plain, plain.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        return await response.read()


async def check_message_carries_only_the_id(job_id: str, broker_url: str) -> None:
    """The queued Dramatiq message (which dead-lettering would keep for 7 days) holds the
    job id and no trace of the prompt; the prompt waits in the job's ephemeral queue."""
    import aio_pika

    connection = await aio_pika.connect(broker_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("generation", passive=True)
        bodies, held = [], []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            bodies.append(message.body)
            held.append(message)
        for message in held:
            await message.nack(requeue=True)
    finally:
        await connection.close()
    ours = [json.loads(b) for b in bodies if job_id.encode() in b]
    assert len(ours) == 1
    assert ours[0]["args"] == [job_id]
    assert not any(b"red fox" in b for b in bodies)
    assert await payload_queue_exists(job_id, broker_url)


async def payload_queue_exists(job_id: str, broker_url: str) -> bool:
    import aio_pika
    from aio_pika.exceptions import ChannelClosed

    connection = await aio_pika.connect(broker_url)
    try:
        channel = await connection.channel()
        try:
            await channel.declare_queue(f"neurall.payload.{job_id}", passive=True)
        except ChannelClosed:
            return False
        return True
    finally:
        await connection.close()


async def test_generate_through_worker_and_triton(stack, api, broker_url):
    job = (await api(GENERATE, {"input": small_input(width=96, height=64, steps=5)}))["generate"]
    assert job["__typename"] == "Job", job
    await check_message_carries_only_the_id(job["id"], broker_url)
    stream = await ws_stream(stack["api"], api_key=api.key).open(job["id"])
    worker, _ = start_worker(stack, 2)
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert events[0]["type"] == "QUEUED"
    assert not await payload_queue_exists(job["id"], broker_url)  # deleted when the job ended
    check_progress(events, 5)
    image = events[-1]["images"][0]
    first = await download(api, image["url"])
    assert png_size(first) == (96, 64)
    again = (await api(GENERATE, {"input": small_input(width=96, height=64, steps=5)}))["generate"]
    done = await api.wait(again["id"])
    assert await download(api, done["images"][0]["url"]) == first
    stack["procs"].stop(worker)


async def test_eight_concurrent_jobs_share_pipeline_calls(stack, api):
    def stats() -> dict:
        path = stack["stats"]
        return json.loads(path.read_text()) if path.exists() else {"pipeline_calls": 0}

    before = stats()
    jobs = await asyncio.gather(
        *(api(GENERATE, {"input": small_input(seed=100 + i)}) for i in range(8))
    )
    worker, _ = start_worker(stack, 8)
    try:
        done = [await api.wait(j["generate"]["id"]) for j in jobs]
    finally:
        stack["procs"].stop(worker)
    assert {d["status"] for d in done} == {"SUCCEEDED"}
    after = stats()
    calls = after["pipeline_calls"] - before["pipeline_calls"]
    assert 1 <= calls < 8, (before, after)


async def test_worker_killed_mid_job_finishes_once_and_charges_once(stack, api):
    credits = (await api(ME, None))["me"]["credits"]
    job = (await api(GENERATE, {"input": small_input(steps=80)}))["generate"]
    stream = await ws_stream(stack["api"], api_key=api.key).open(job["id"])
    worker, _ = start_worker(stack, 1)
    try:
        while True:
            message = await stream.next()
            event = message["event"]
            if event["type"] == "PROGRESS" and event["step"] >= 3:
                break
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        replacement, _ = start_worker(stack, 1)
        rest = await stream.until_end(within=180)
    finally:
        await stream.close()
    assert rest[-1]["type"] == "SUCCEEDED"
    assert [e["type"] for e in rest].count("SUCCEEDED") == 1
    stack["procs"].stop(replacement)
    conn = await asyncpg.connect(stack["db"])
    try:
        row = await conn.fetchrow(
            "SELECT attempts, status FROM job WHERE id = $1", uuid.UUID(job["id"])
        )
        images = await conn.fetchval(
            "SELECT count(*) FROM job_image WHERE job_id = $1", uuid.UUID(job["id"])
        )
        charges = await conn.fetchval(
            "SELECT count(*) FROM ledger_entry WHERE reference = $1 AND kind = 'CHARGE'",
            f"job:{job['id']}",
        )
    finally:
        await conn.close()
    assert row["status"] == "SUCCEEDED"
    assert row["attempts"] == 2
    assert images == 1
    assert charges == 1
    me = (await api(ME, None))["me"]
    assert me == {"credits": credits - job["heldCredits"], "heldCredits": 0}


async def test_worker_stopped_mid_job_finishes_it_then_exits(stack, api):
    """SIGTERM (a deploy, a scale-down) lets the running job end before the worker closes
    its database and connections: no error, no redelivery, exit status 0."""
    job = (await api(GENERATE, {"input": small_input(steps=60)}))["generate"]
    stream = await ws_stream(stack["api"], api_key=api.key).open(job["id"])
    worker, log = start_worker(stack, 1)
    try:
        while True:
            event = (await stream.next())["event"]
            if event["type"] == "PROGRESS" and event["step"] >= 3:
                break
        worker.send_signal(signal.SIGTERM)
        rest = await stream.until_end(within=180)
    finally:
        await stream.close()
    assert rest[-1]["type"] == "SUCCEEDED"
    assert worker.wait(timeout=60) == 0
    output = log.read_text()
    assert "Traceback" not in output, output[-3000:]
    done = await api.wait(job["id"])
    assert done["status"] == "SUCCEEDED"


# A lost message is sent again this long after its send, by a reaper passing this often.
LOST_AFTER = {"NEURALL_DISPATCH_TIMEOUT_S": "3", "NEURALL_REAPER_INTERVAL_S": "1"}


async def _per_job(database_url: str, query: str, values: list[object]) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        return [await conn.fetchval(query, value) for value in values]
    finally:
        await conn.close()


async def _charges(database_url: str, job_ids: list[str]) -> list[int]:
    query = "SELECT count(*) FROM ledger_entry WHERE reference = $1 AND kind = 'CHARGE'"
    return await _per_job(database_url, query, [f"job:{job_id}" for job_id in job_ids])


async def _attempts(database_url: str, job_ids: list[str]) -> list[int]:
    query = "SELECT attempts FROM job WHERE id = $1"
    return await _per_job(database_url, query, [uuid.UUID(job_id) for job_id in job_ids])


async def test_jobs_whose_messages_were_purged_run_once(stack, api, rabbitmq_vhost):
    """Workers stopped, 8 jobs queued, the generation queue and its delay queue purged (an
    operator's mistake, a broker that lost them): the workers' reaper sends them again,
    each runs once and is charged once."""
    credits = (await api(ME, None))["me"]["credits"]
    job_ids = [await api.generate(prompt="a lighthouse", steps=2, seed=n) for n in range(8)]
    for queue in ("generation", "generation.DQ"):
        rabbitmqctl("purge_queue", "-p", rabbitmq_vhost.name, queue)
    worker, log = start_worker(stack, 2, **LOST_AFTER)
    try:
        # The timeout and a reaper pass, plus the worker's start and 8 small jobs on the CPU.
        ended = [await api.wait(job_id, within=90) for job_id in job_ids]
    finally:
        stack["procs"].stop(worker)
    assert {job["status"] for job in ended} == {"SUCCEEDED"}
    # Every job was sent again; one whose copy waited in the busy worker's prefetch past
    # the timeout may have been sent twice, and ran once all the same.
    resent = re.findall(r"job (\S+): its message looks lost; sent again", log.read_text())
    assert set(resent) == set(job_ids)
    assert await _attempts(stack["db"], job_ids) == [1] * 8
    assert await _charges(stack["db"], job_ids) == [1] * 8
    held = sum(job["heldCredits"] for job in ended)
    assert (await api(ME, None))["me"] == {"credits": credits - held, "heldCredits": 0}


async def test_an_api_process_killed_between_commit_and_publish_loses_no_job(stack, api):
    """`neurall serve` dies (a fault-injection point, as a power cut would) after the job
    is committed and before its message is published: the client gets no answer, the job
    is QUEUED with no message anywhere, and the reaper sends it."""
    port = free_port()
    doomed, doomed_log = stack["procs"].start(
        "serve", "serve", "--port", str(port),
        extra_env={"NEURALL_TEST_CRASH_AT": "job_committed"},
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/healthz", doomed, doomed_log)
    headers = {"Authorization": f"Bearer {api.key}"}
    body = {"query": GENERATE, "variables": {"input": small_input(steps=2)}}
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(aiohttp.ClientError):
            await plain.post(f"http://127.0.0.1:{port}/graphql", json=body, headers=headers)
    assert doomed.wait(timeout=30) == EXIT_CODE
    # The job is there, accepted (its credits held), though nobody was told.
    listed = await api("{ jobs(first: 5) { edges { node { id status } } } }")
    [job] = [edge["node"] for edge in listed["jobs"]["edges"]]
    assert job["status"] == "QUEUED"
    job_id = job["id"]

    worker, _ = start_worker(stack, 1, **LOST_AFTER)
    try:
        done = await api.wait(job_id, within=90)
    finally:
        stack["procs"].stop(worker)
    assert done["status"] == "SUCCEEDED"
    assert await _charges(stack["db"], [job_id]) == [1]
    assert (await api(ME, None))["me"]["heldCredits"] == 0


async def test_fair_turns_the_batch_lane_and_wait_on_rabbitmq(stack, api):
    """The rules of test_fair_queue.py on RabbitMQ, queued with no worker running: A's
    BATCH jobs, then 16 of A's jobs, then one of B's; one worker thread then starts them
    in the order their queue positions said: B's second, the BATCH jobs last. And
    ``generate(wait:)`` answers with the finished job through the RabbitMQ event bus."""
    batch = [
        await api.generate(prompt="a kite", steps=1, seed=n, priority="BATCH") for n in range(2)
    ]
    standard = [await api.generate(prompt="a kite", steps=1, seed=n) for n in range(16)]
    async with stack_account(stack["api"], keep_session=False) as other:
        job_b = await other.generate(prompt="a kite", steps=1)
        listed = (await api(JOB_STARTS))["jobs"]["edges"] + (await other(JOB_STARTS))["jobs"][
            "edges"
        ]
        positions = {e["node"]["id"]: e["node"]["queuePosition"] for e in listed}
        worker, _ = start_worker(stack, 1)
        try:
            for job_id in [*standard, *batch]:
                await api.wait(job_id)
            await other.wait(job_b)
            waited = await other(GENERATE_WAIT, {"input": small_input(steps=2), "wait": 30})
        finally:
            stack["procs"].stop(worker)
    assert waited["generate"]["status"] == "SUCCEEDED"
    assert len(waited["generate"]["images"]) == 1
    conn = await asyncpg.connect(stack["db"])
    try:
        rows = await conn.fetch(
            "SELECT id::text FROM job WHERE id = ANY($1::uuid[]) ORDER BY started_at",
            [*batch, *standard, job_b],
        )
    finally:
        await conn.close()
    started = [row["id"] for row in rows]
    assert started == sorted(positions, key=positions.get)
    assert started.index(job_b) == 1  # before 15 of A's 16
    assert set(started[-2:]) == set(batch)
