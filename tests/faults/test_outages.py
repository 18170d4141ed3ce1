"""Outages of RabbitMQ and PostgreSQL with jobs in flight, on servers of this module's own
(tests/support/instances.py), so no other test sees them: a broker restart (stop_app and
start_app, then a full node restart) and a database restart, each answered clearly while
it lasts and leaving, within the lease plus a minute, every job ended, every hold matching
an active job, nothing charged twice and no API request on the broker.

The stack: one `neurall serve` and two `neurall worker`s with the tiny model in-process
(inference outages are tests/faults/test_gpu_process.py's and the reaper tests')."""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.support.events import ws_stream
from tests.support.graphql import CREATE_KEY, GENERATE, ME, PASSWORD, SIGN_UP
from tests.support.instances import PrivatePostgres, PrivateRabbit
from tests.support.jobs import payload_queues, wait_until_every_job_ended
from tests.support.ledger import check_ledgers
from tests.support.poll import until
from tests.support.ports import free_port
from tests.support.processes import NEURALL, Processes, wait_http

pytestmark = pytest.mark.slow

LEASE_S = 8
STEPS = 6
# Time to run what queued up during an outage comes on top of the lease plus a minute.
BACKLOG_S = 120


@pytest.fixture(scope="module")
def instances(
    postgres_server: str, rabbitmq_server: str
) -> Iterator[tuple[PrivatePostgres, PrivateRabbit]]:
    """A PostgreSQL cluster and a RabbitMQ node of this module's own, from the packages the
    shared servers come from."""
    postgres = PrivatePostgres("neurall_faults", free_port())
    # Not under pytest's tmp directory: the node runs as the rabbitmq user, who must reach it.
    rabbit = PrivateRabbit("neurall-faults", free_port(), Path(tempfile.mkdtemp(prefix="nf-")))
    postgres.create()
    try:
        rabbit.start()
        yield postgres, rabbit
    finally:
        rabbit.destroy()
        postgres.drop()


@pytest.fixture(scope="module")
def stack(
    instances: tuple[PrivatePostgres, PrivateRabbit],
    tiny_models: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    postgres, rabbit = instances
    workdir = tmp_path_factory.mktemp("faults")
    data = workdir / "data"
    data.mkdir()
    (data / "models").symlink_to(tiny_models, target_is_directory=True)
    api_port = free_port()
    subprocess.run(
        ["su", "postgres", "-c", f"createdb -p {postgres.port} -O neurall neurall"], check=True
    )
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(data),
        "NEURALL_DATABASE_URL": postgres.url("neurall"),
        "NEURALL_BROKER_URL": rabbit.url,
        "NEURALL_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "NEURALL_SECRET_KEY": "faults-test-secret-key-0123456789abcdef",
        "NEURALL_JOB_LEASE_S": str(LEASE_S),
        "NEURALL_REAPER_INTERVAL_S": "1",
        "NEURALL_GENERATION_MIN_BACKOFF_MS": "500",
        "NEURALL_GENERATION_MAX_BACKOFF_MS": "2000",
        "NEURALL_GENERATION_MAX_RETRIES": "8",
        "NEURALL_PREVIEW_EVERY_STEPS": "0",
    }
    subprocess.run([*NEURALL, "migrate"], env=env, check=True, capture_output=True)
    procs = Processes(workdir, env)
    try:
        serve, serve_log = procs.start("serve", "serve", "--port", str(api_port))
        wait_http(f"http://127.0.0.1:{api_port}/healthz", serve, serve_log)
        for _ in range(2):
            procs.start("worker", "worker", "--threads", "2")
        yield {"api": f"http://127.0.0.1:{api_port}", "db": postgres.url("neurall"), "env": env}
    finally:
        procs.stop_all()


class Api:
    """One signed-up account over HTTP: its session cookie and an API key."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.key = ""
        self.cookie = ""

    async def post(self, query: str, variables: dict, *, key: bool = False) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.key}"} if key else {}
        payload = {"query": query, "variables": variables}
        async with self.http.post("/graphql", json=payload, headers=headers) as response:
            return response.status, await response.json()

    async def generate(self, *, key: bool = False) -> tuple[int, Any]:
        variables = {"input": {"prompt": "a lighthouse", "steps": STEPS, "seed": 1}}
        return await self.post(GENERATE, variables, key=key)


@pytest.fixture
async def api(stack: dict[str, Any]) -> AsyncIterator[Api]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=stack["api"], cookie_jar=jar) as http:
        client = Api(http, stack["api"])
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        _, signed = await client.post(SIGN_UP, {"input": {"email": email, "password": PASSWORD}})
        assert signed["data"]["signUp"]["__typename"] == "Session", signed
        _, created = await client.post(CREATE_KEY, {"name": "k", "scopes": None})
        client.key = created["data"]["createApiKey"]["secret"]
        client.cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
        yield client


async def _wait_ready(api: Api, within_s: float = 60) -> None:
    """/readyz answers 200 again: the server has its database and broker back."""
    await until(
        lambda: _readiness(api), lambda answer: answer[0] == 200, within=within_s, every=0.5,
        what="/readyz answering 200",
    )  # fmt: skip


async def _wait_unready(api: Api, what: str, within_s: float = 20) -> dict[str, Any]:
    """/readyz turns 503: the server notices a lost connection on its own loop, a moment
    after the service went away (longer on a busy machine)."""
    _, ready = await until(
        lambda: _readiness(api), lambda answer: answer[0] == 503, within=within_s, every=0.2,
        what=f"/readyz answering 503 after {what}",
    )  # fmt: skip
    return ready


async def _submit_mix(api: Api, playground: int = 4, by_key: int = 2) -> list[str]:
    await _wait_ready(api)
    ids = []
    for index in range(playground + by_key):
        status, body = await api.generate(key=index >= playground)
        assert status == 200, body
        assert body["data"]["generate"]["__typename"] == "Job", body
        ids.append(body["data"]["generate"]["id"])
    return ids


async def _wait_running(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(240):
            running = await conn.fetchval(
                "SELECT id FROM job WHERE status = 'RUNNING' AND source = 'PLAYGROUND' LIMIT 1"
            )
            if running is not None:
                return str(running)
            await asyncio.sleep(0.25)
    finally:
        await conn.close()
    raise AssertionError("no job started")


def _unavailable(status: int, body: Any) -> None:
    assert status == 503, (status, body)
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", body


async def _readiness(api: Api) -> tuple[int, dict[str, Any]]:
    async with api.http.get("/readyz") as response:
        return response.status, await response.json()


async def _after_recovery(
    stack: dict[str, Any], rabbit: PrivateRabbit, api: Api, ids: list[str]
) -> None:
    await wait_until_every_job_ended(stack["db"], LEASE_S + 60 + BACKLOG_S)
    # Payloads an outage left are deleted by the reaper's first pass once the broker is
    # back, which may come a few seconds after the last job ended.
    await until(
        lambda: check_ledgers(stack["db"]), lambda problems: problems == [],
        within=LEASE_S + 60, every=1, what="sound ledgers",
    )  # fmt: skip
    assert payload_queues(rabbit.queues()) == []
    conn = await asyncpg.connect(stack["db"])
    try:
        statuses = {
            str(r["id"]): (r["status"], r["source"], r["cost_credits"], r["error"])
            for r in await conn.fetch(
                "SELECT id, status, source, cost_credits, error FROM job "
                "WHERE id = ANY($1::uuid[])",
                ids,
            )
        }
    finally:
        await conn.close()
    # A playground job's request is in the database: it survives any outage and succeeds.
    playground = [s for s in statuses.values() if s[1] == "PLAYGROUND"]
    assert all(s[0] == "SUCCEEDED" for s in playground), statuses
    # An API job's request never touches a disk; one that ends otherwise paid nothing.
    assert all(s[2] == 0 for s in statuses.values() if s[0] != "SUCCEEDED"), statuses
    await _wait_ready(api)


async def test_a_broker_restart_of_seconds_loses_no_job_and_holds_no_credit(
    stack: dict[str, Any], instances: tuple[PrivatePostgres, PrivateRabbit], api: Api
):
    _, rabbit = instances
    ids = await _submit_mix(api)
    running = await _wait_running(stack["db"])
    watcher = await ws_stream(api.base, cookie=api.cookie).open(running)
    rabbit.stop_app()
    try:
        # Requests that need the broker get a typed, retryable answer.
        status, body = await api.generate(key=True)
        _unavailable(status, body)
        # A playground request is in the database: it is accepted, sent once it is back.
        status, body = await api.generate()
        assert body["data"]["generate"]["__typename"] == "Job", body
        ids.append(body["data"]["generate"]["id"])
        ready = await _wait_unready(api, "broker")
        assert ready["checks"]["broker"] is False, ready
        # What does not need the broker still works.
        status, body = await api.post(ME, {}, key=True)
        assert status == 200, body
        assert "errors" not in body, body
        # A subscription ends with the error rather than going silent.
        message = await watcher.next(within=20)
        while "event" in message:
            message = await watcher.next(within=20)
        assert message["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", message
        await asyncio.sleep(4)
    finally:
        rabbit.start_app()
        await watcher.close()
    await _after_recovery(stack, rabbit, api, ids)


async def test_a_full_broker_restart_loses_no_job(
    stack: dict[str, Any], instances: tuple[PrivatePostgres, PrivateRabbit], api: Api
):
    _, rabbit = instances
    ids = await _submit_mix(api)
    await _wait_running(stack["db"])
    rabbit.stop()
    try:
        await asyncio.sleep(2)
    finally:
        rabbit.start()
    await _after_recovery(stack, rabbit, api, ids)


async def test_a_database_restart_loses_no_job_and_answers_clearly_meanwhile(
    stack: dict[str, Any], instances: tuple[PrivatePostgres, PrivateRabbit], api: Api
):
    postgres, rabbit = instances
    ids = await _submit_mix(api)
    await _wait_running(stack["db"])
    postgres.stop()
    try:
        started = time.monotonic()
        status, body = await api.post(ME, {}, key=True)
        _unavailable(status, body)
        assert time.monotonic() - started < 5  # an answer, not a hang (timed in the soak)
        async with api.http.get("/healthz") as response:
            assert response.status == 200
        ready = await _wait_unready(api, "database")
        assert ready["checks"]["database"] is False, ready
        await asyncio.sleep(2)
    finally:
        postgres.start()
    await _after_recovery(stack, rabbit, api, ids)
