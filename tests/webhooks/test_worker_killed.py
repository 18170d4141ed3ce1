"""A `neurall worker` killed mid-delivery: RabbitMQ gives the message back, and the event
arrives at least once, always with one webhook-id. Real processes: `neurall serve` and
`neurall worker --queues webhooks` on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.graphql import CREATE_KEY, PASSWORD, SIGN_UP
from tests.support.poll import until
from tests.support.ports import free_port
from tests.support.processes import NEURALL, Processes, wait_http
from tests.support.services import POSTGRES_ADMIN_URL, pg_admin_execute, run_sync
from tests.support.webhooks import CREATE, DELIVERIES, SEND_TEST


@pytest.fixture
def stack(tmp_path: Path, broker_url: str, postgres_server: str) -> Iterator[dict[str, Any]]:
    import subprocess

    name = f"neurall_hooks_{uuid.uuid4().hex[:10]}"
    database_url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    run_sync(pg_admin_execute(f'CREATE DATABASE "{name}"'))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(tmp_path / "data"),
        "NEURALL_DATABASE_URL": database_url,
        "NEURALL_BROKER_URL": broker_url,
        "NEURALL_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NEURALL_SECRET_KEY": "webhook-test-secret-key-0123456789",
        "NEURALL_WEBHOOKS_ALLOW_INSECURE_URLS": "true",
        # A short timeout keeps the attempt's lease (timeout + 15 s) short.
        "NEURALL_WEBHOOK_TIMEOUT_S": "3",
    }
    procs = Processes(tmp_path, env)
    try:
        subprocess.run([*NEURALL, "migrate"], env=env, check=True, capture_output=True)
        serve, log = procs.start("serve", "serve", "--port", str(port))
        wait_http(f"http://127.0.0.1:{port}/healthz", serve, log)
        yield {"procs": procs, "api": f"http://127.0.0.1:{port}"}
    finally:
        procs.stop_all()
        run_sync(pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_a_worker_killed_mid_delivery_delivers_once_more_with_the_same_id(stack, receiver):
    receiver.plan = [(200, {}, 60.0)]  # the first attempt hangs until the worker is killed
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=stack["api"], cookie_jar=jar) as http:

        async def gql(query: str, variables: dict | None = None) -> Any:
            async with http.post("/graphql", json={"query": query, "variables": variables}) as r:
                body = await r.json()
            assert "errors" not in body, body
            return body["data"]

        await gql(SIGN_UP, {"input": {"email": "w@example.com", "password": PASSWORD}})
        assert (await gql(CREATE_KEY, {"name": "k"}))["createApiKey"]["secret"]
        created = await gql(CREATE, {"input": {"url": receiver.url, "events": ["JOB_FAILED"]}})
        endpoint = created["createWebhookEndpoint"]
        receiver.secrets = [endpoint["secret"]]
        await gql(SEND_TEST, {"id": endpoint["endpoint"]["id"]})

        worker, _ = stack["procs"].start("worker", "worker", "--queues", "webhooks")
        await receiver.wait_for(1, within=60)
        os.kill(worker.pid, signal.SIGKILL)  # mid-attempt: the receiver has not answered
        worker.wait(timeout=10)
        stack["procs"].start("worker", "worker", "--queues", "webhooks")

        deliveries = await receiver.wait_for(2, within=90)
        assert len({d.event_id for d in deliveries}) == 1
        assert all(d.verified_with == [endpoint["secret"]] for d in deliveries)

        async def delivery() -> dict:
            page = await gql(DELIVERIES, {"id": endpoint["endpoint"]["id"]})
            (row,) = [e["node"] for e in page["webhookDeliveries"]["edges"]]
            return row

        row = await until(
            delivery, lambda row: row["status"] == "SUCCEEDED", within=30, every=0.2,
            what="the delivery succeeding",
        )  # fmt: skip
        assert (row["status"], row["eventId"]) == ("SUCCEEDED", deliveries[0].event_id)
