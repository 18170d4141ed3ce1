"""Several processes of each kind, proven: two `neurall serve`, two `neurall worker`, one
`neurall gpu`, PostgreSQL, RabbitMQ, the S3 server (tests/support/s3.py) and the shared rate limits
of NEURALL_RATE_LIMIT_BACKEND=database. Each process has a data directory of its own, as if
on its own host: images and clone weights travel through the bucket only.

- a job submitted on API 1 and watched on API 2 streams every event, and its image comes
  from either API;
- a cancel sent to API 2 stops the job worker 1 is running;
- a clone trained by worker 1 is used by a job on worker 2;
- killing one worker and one API mid-load (SIGKILL) loses no job and charges none twice.

Which worker runs what is fixed by which workers are running, never left to chance: worker 1
runs alone until the clone is trained, then hands over to worker 2 (a graceful stop), and
starts again for the load. The tests run in order on one module-wide stack.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import asyncpg
import pytest

from tests.support.clones import CREATE_CLONE, clone_events, photos
from tests.support.events import check_progress, ws_stream
from tests.support.graphql import CANCEL, CREATE_KEY, GENERATE, JOB, ME, PASSWORD, SIGN_UP
from tests.support.jobs import ENDED, payload_queues, wait_until_every_job_ended
from tests.support.ledger import check_ledgers
from tests.support.poll import until
from tests.support.processes import distributed_stack
from tests.support.s3 import new_bucket
from tests.support.services import rabbitmqctl

pytestmark = pytest.mark.slow

SIZE = 64
STEPS = 3
# Long enough that both workers are mid-job when one is killed.
LOAD_STEPS = 20
LEASE_S = 8
ENV = {
    "NEURALL_RATE_LIMIT_BACKEND": "database",
    "NEURALL_JOB_LEASE_S": str(LEASE_S),
    "NEURALL_REAPER_INTERVAL_S": "1",
    "NEURALL_PREVIEW_EVERY_STEPS": "0",
    "NEURALL_CLONE_TRAINING_BATCH_SIZE": "3",
}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: Path,
    broker_url: str,
    s3_endpoint: str,
    postgres_server: str,
    gpu_server: Path,
) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("several")
    bucket = new_bucket(s3_endpoint)
    with distributed_stack(
        workdir, tiny_models, broker_url, max_queue_delay_us=20_000,
        extra_env={**ENV, **bucket.env}, apis=2, data_per_process=True,
    ) as s:  # fmt: skip
        s["workers"] = {}
        s["bucket"] = bucket
        yield s
        # All at once (the stack stops them one by one): nothing runs by now.
        for process in s["procs"].running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        # Nothing went through a local directory: each "host" kept only its model cache (a
        # link), its bounded cache of clone weights read from the bucket, and the outbox of
        # the e-mails it wrote (no SMTP server configured here).
        kept = {"models", "adapter-cache", "outbox"}
        stored = [
            p for p in workdir.glob("host-*/**/*")
            if p.is_file() and p.relative_to(workdir).parts[1] not in kept
        ]  # fmt: skip
        assert stored == []


def start_worker(stack: dict[str, Any], number: int) -> subprocess.Popen:
    # One thread each: two RUNNING jobs then mean one on each worker.
    process, _log = stack["procs"].start(f"worker{number}", "worker", "--threads", "1")
    stack["workers"][number] = process
    return process


class Client:
    """One account, reached on either API: its session cookie and an API key."""

    def __init__(self, http: aiohttp.ClientSession, apis: list[str]) -> None:
        self.http, self.apis = http, apis
        self.key = ""

    async def post(self, api: int, query: str, variables: dict, *, key: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if key else {}
        payload = {"query": query, "variables": variables}
        async with self.http.post(
            f"{self.apis[api]}/graphql", json=payload, headers=headers
        ) as response:
            body = await response.json()
        assert "errors" not in body, body
        return body["data"]

    def cookie(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.http.cookie_jar)

    async def wait_done(self, api: int, job_id: str, within: float = 120) -> dict[str, Any]:
        data = await until(
            lambda: self.post(api, JOB, {"id": job_id}),
            lambda data: data["job"]["status"] in ENDED,
            within=within,
            every=0.2,
            what=f"job {job_id} ending",
        )
        return data["job"]

    async def image(self, url: str, api: int) -> bytes:
        """GET an image's path on the given API, with the session cookie."""
        path = "/images/" + url.split("/images/", 1)[1]
        async with self.http.get(f"{self.apis[api]}{path}") as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "image/png"
            return await response.read()


@pytest.fixture
async def client(stack: dict[str, Any]) -> AsyncIterator[Client]:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, whatever the port
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        client = Client(http, stack["apis"])
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        signed = await client.post(
            0, SIGN_UP, {"input": {"email": email, "password": PASSWORD}}, key=False
        )
        assert signed["signUp"]["__typename"] == "Session", signed
        created = await client.post(0, CREATE_KEY, {"name": "k", "scopes": None}, key=False)
        client.key = created["createApiKey"]["secret"]
        yield client


def _input(**fields: Any) -> dict[str, Any]:
    return {"input": {"prompt": "a lighthouse", "width": SIZE, "height": SIZE,
                      "steps": STEPS, "seed": 3, **fields}}  # fmt: skip


async def test_a_job_from_api_1_streams_every_event_on_api_2(stack, client):
    # A playground job (the session cookie works on both APIs): its image is kept, so both
    # APIs can serve it.
    job = (await client.post(0, GENERATE, _input(), key=False))["generate"]
    assert job["__typename"] == "Job", job
    stream = await ws_stream(stack["apis"][1], cookie=client.cookie()).open(job["id"])
    start_worker(stack, 1)  # after the subscription: the job is seen from QUEUED on
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert events[0]["type"] == "QUEUED"
    check_progress(events, STEPS)
    (image,) = events[-1]["images"]
    # No NEURALL_PUBLIC_URL: each API's links follow its own port; this one is API 2's.
    assert image["url"].startswith(f"{stack['apis'][1]}/images/"), image
    assert await client.image(image["url"], 0) == await client.image(image["url"], 1)


async def test_a_cancel_sent_to_api_2_stops_the_job_worker_1_runs(stack, client):
    before = (await client.post(0, ME, {}))["me"]
    job = (await client.post(0, GENERATE, _input(steps=150)))["generate"]
    stream = await ws_stream(stack["apis"][0], api_key=client.key).open(job["id"])
    try:
        while True:
            event = (await stream.next())["event"]
            if event["type"] == "PROGRESS" and event["step"] >= 2:
                break
        canceled = (await client.post(1, CANCEL, {"id": job["id"]}))["cancelJob"]
        assert canceled["__typename"] == "Job", canceled
        rest = await stream.until_end(within=60)
    finally:
        await stream.close()
    assert rest[-1]["type"] == "CANCELED", rest[-3:]
    done = await client.wait_done(1, job["id"])
    assert done["status"] == "CANCELED"
    assert done["step"] < 150
    # Nothing charged, nothing left held.
    assert (await client.post(1, ME, {}))["me"] == before


async def test_a_clone_trained_by_worker_1_is_used_by_a_job_on_worker_2(stack, client):
    form = aiohttp.FormData()
    files = photos(3)
    variables = {
        "input": {"name": "Ada", "triggerWord": "sks", "trainingSteps": 4},
        "images": [None] * len(files),
    }
    form.add_field("operations", json.dumps({"query": CREATE_CLONE, "variables": variables}))
    mapping = {str(i): [f"variables.images.{i}"] for i in range(len(files))}
    form.add_field("map", json.dumps(mapping))
    for index, (name, data) in enumerate(files):
        form.add_field(str(index), data, filename=name)
    headers = {"Authorization": f"Bearer {client.key}"}
    async with client.http.post(
        f"{stack['apis'][1]}/graphql", data=form, headers=headers
    ) as response:
        created = (await response.json())["data"]["createClone"]
    assert created["__typename"] == "Clone", created
    messages = await clone_events(stack["apis"][0], created["id"], client.key, within=120)
    assert messages[-1]["status"] == "READY", messages[-1]
    # Worker 1, the only one running, trained it; now worker 2 alone runs generation.
    stack["procs"].stop(stack["workers"].pop(1))
    start_worker(stack, 2)
    prompt = {"prompt": "a photo of sks person"}
    with_clone = await client.post(0, GENERATE, _input(**prompt, cloneId=created["id"]))
    plain = await client.post(0, GENERATE, _input(**prompt))
    images = []
    for job in (with_clone["generate"], plain["generate"]):
        done = await client.wait_done(1, job["id"])
        assert done["status"] == "SUCCEEDED", done
        images.append(await client.image(done["images"][0]["url"], 1))
    # Same prompt and seed: only the adapter, loaded by worker 2, tells them apart.
    assert images[0] != images[1]
    # Worker 2 found the weights in the bucket, where worker 1 had put them.
    keys = stack["bucket"].keys()
    assert any(created["id"] in key for key in keys), keys


async def test_killing_a_worker_and_an_api_mid_load_loses_no_job_and_charges_none_twice(
    stack, client
):
    worker1 = start_worker(stack, 1)
    await _until_consumers(stack, "generation", 2)
    api1 = stack["serves"][0]
    submitted: dict[str, str] = {}  # idempotency key -> job id

    def request(index: int) -> dict[str, Any]:
        return {**_input(seed=100 + index, steps=LOAD_STEPS), "key": f"load-{index}"}

    async def submit(index: int) -> None:
        """On API 1 or 2 by turns; a request that dies with API 1 is sent again to API 2
        with the same idempotency key, as a client that lost its answer would."""
        try:
            job = await client.post(index % 2, GENERATE, request(index))
        except (aiohttp.ClientError, TimeoutError):
            job = await client.post(1, GENERATE, request(index))
        assert job["generate"]["__typename"] == "Job", job
        submitted[f"load-{index}"] = job["generate"]["id"]

    async def more_load() -> None:
        for index in range(6, 12):
            await submit(index)
            await asyncio.sleep(0.2)

    for index in range(6):
        await submit(index)
    load = asyncio.create_task(more_load())
    await _until_running_on_both_workers(stack)
    os.kill(worker1.pid, signal.SIGKILL)
    os.kill(api1.pid, signal.SIGKILL)
    await load
    worker1.wait(timeout=10)
    api1.wait(timeout=10)
    # Every request sent again on API 2 with its key gets its job back, held once.
    for index in range(12):
        again = (await client.post(1, GENERATE, request(index)))["generate"]
        assert again["id"] == submitted[f"load-{index}"], (index, again)
    await wait_until_every_job_ended(stack["db"], LEASE_S + 60)
    problems = await check_ledgers(stack["db"])
    assert problems == []
    conn = await asyncpg.connect(stack["db"])
    try:
        rows = await conn.fetch(
            "SELECT j.id, j.status, (SELECT count(*) FROM ledger_entry e WHERE e.kind = "
            "'CHARGE' AND e.reference = 'job:' || j.id) AS charges FROM job j "
            "WHERE j.id = ANY($1::uuid[])",
            list(submitted.values()),
        )
    finally:
        await conn.close()
    assert len(rows) == len(submitted)
    assert {(r["status"], r["charges"]) for r in rows} == {("SUCCEEDED", 1)}, rows
    queues = rabbitmqctl("list_queues", "-p", _vhost(stack), "-q", "--no-table-headers", "name")
    # Every job's request is gone. A request API 1 stored just before it died, without
    # committing its job, belongs to no job: nothing was accepted, and its queue expires
    # after NEURALL_API_PAYLOAD_TTL_S (x-expires), as every payload queue does.
    left = [
        uuid.UUID(name.removeprefix("neurall.payload.")) for name in payload_queues(queues.split())
    ]
    conn = await asyncpg.connect(stack["db"])
    try:
        assert await conn.fetchval("SELECT count(*) FROM job WHERE id = ANY($1::uuid[])", left) == 0
    finally:
        await conn.close()
    assert len(left) <= 1  # only the one request in flight when API 1 died


def _vhost(stack: dict[str, Any]) -> str:
    return unquote(stack["env"]["NEURALL_BROKER_URL"].rsplit("/", 1)[1])


async def _until_consumers(
    stack: dict[str, Any], queue: str, count: int, within: float = 60
) -> None:
    """``count`` consumers on ``queue``: every worker started is taking messages."""

    def consumers() -> int:
        listed = rabbitmqctl(
            "list_consumers", "-p", _vhost(stack), "-q", "--no-table-headers", "queue_name"
        )
        return listed.split().count(queue)

    await until(
        lambda: asyncio.to_thread(consumers),
        lambda found: found >= count,
        within=within,
        every=0.3,
        what=f"{count} consumers on {queue}",
    )


async def _until_running_on_both_workers(stack: dict[str, Any], within: float = 60) -> None:
    """Both workers run a job: with one thread each, two RUNNING jobs are one on each."""
    conn = await asyncpg.connect(stack["db"])
    try:
        await until(
            lambda: conn.fetchval("SELECT count(*) FROM job WHERE status = 'RUNNING'"),
            lambda running: running >= 2,
            within=within,
            what="two jobs running at once, one on each worker",
        )
    finally:
        await conn.close()
