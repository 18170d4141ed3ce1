"""`/metrics` of `neurall serve`: the token, bounded labels, and the request id header.

One app per test on both databases (the scrape reads credits held and jobs waiting from
the database). Counters are process-wide, so tests look at what they added, or at labels.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from neurall import logs
from neurall.app import create_app
from neurall.config import load_settings
from neurall.orm.jobs import Job, JobSource, JobStatus
from tests.support.factories import create_key, sign_up
from tests.support.metrics_scrape import assert_bounded, families, value

CANARY = "PromptCanary_9f3e"


async def _scrape(http, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert CANARY not in text
    return families(text)


async def test_labels_are_bounded_whatever_the_caller_sends(client):
    await sign_up(client)
    before = await _scrape(client.http)
    me_ok = value(before, "neurall_graphql_operations_total", operation="me", outcome="ok")
    # A caller-chosen operation name, twice (as the document's name and as operationName),
    # an unknown field, several root fields and a document that does not parse.
    named = f"query {CANARY} {{ me {{ email }} }}"
    response = await client.http.post(
        "/graphql", json={"query": named, "operationName": CANARY, "variables": {}}
    )
    assert response.status == 200
    await client.post(f"{{ {CANARY} }}")
    await client.post("{ me { email } viewerCredits: me { credits } }")
    await client.post("{ me { email } apiKeys { id } }")
    await client.http.post("/graphql", json={"query": f"{{ {CANARY} ", "variables": {}})
    after = await _scrape(client.http)
    assert_bounded(after)
    assert value(after, "neurall_graphql_operations_total", operation="me", outcome="ok") >= (
        me_ok + 2
    )
    assert value(after, "neurall_graphql_operations_total", operation="other", outcome="invalid")
    assert value(after, "neurall_graphql_operations_total", operation="multiple")
    assert value(after, "neurall_graphql_duration_seconds_count", operation="me") >= 1
    for shared in ("neurall_credits_held", "neurall_jobs_queued", "neurall_websockets_open"):
        assert shared in after


async def test_the_token_guards_metrics(aiohttp_client, tmp_path, database_url):
    token = "metrics-token-5b1e0c"
    settings = load_settings(
        data_dir=tmp_path / "data", database_url=database_url, metrics_token=token
    )
    http = await aiohttp_client(create_app(settings))
    assert (await http.get("/metrics")).status == 401
    wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert "neurall_graphql_operations" in await _scrape(http, token)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_production_without_a_token_serves_no_metrics(aiohttp_client, tmp_path, database_url):
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url, production=True)
    http = await aiohttp_client(create_app(settings))
    assert (await http.get("/metrics")).status == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_request_ids_are_kept_when_plain_and_replaced_otherwise(client):
    kept = await client.http.get("/healthz", headers={"X-Request-Id": "trace-0123456789"})
    assert kept.headers["X-Request-Id"] == "trace-0123456789"
    for unsafe in ("a prompt with spaces", "x" * 65, "short"):
        replaced = await client.http.get("/healthz", headers={"X-Request-Id": unsafe})
        assert replaced.headers["X-Request-Id"] != unsafe
        assert len(replaced.headers["X-Request-Id"]) == 32
    assert len((await client.http.get("/healthz")).headers["X-Request-Id"]) == 32


def test_json_lines_carry_the_context_and_nothing_else():
    record = logging.LogRecord("neurall.x", logging.INFO, __file__, 1, "job %s done", ("j1",), None)
    record.duration_ms = 12.5
    logs.restore({"request_id": "req-00000001", "job_id": "j1", "operation": "generate"})
    try:
        logs.ContextFilter().filter(record)
        line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.restore({})
    assert line["message"] == "job j1 done"
    assert line["request_id"] == "req-00000001"
    assert line["job_id"] == "j1"
    assert line["operation"] == "generate"
    assert line["duration_ms"] == 12.5
    assert set(line) == {"time", "level", "logger", "message", "request_id", "operation",
                         "job_id", "duration_ms"}  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_open_websockets_and_subscriptions_are_gauged(client):
    account = await sign_up(client)
    key = await create_key(client, ["GENERATE"])
    # A job that stays RUNNING (no worker owns it), so the subscription stays open.
    job = await Job.create(
        account_id=account["id"],
        source=JobSource.API,
        status=JobStatus.RUNNING,
        total_steps=20,
        num_images=1,
        seq=1,
    )

    async def gauges() -> tuple[float, float]:
        parsed = await _scrape(client.http)
        return (
            value(parsed, "neurall_websockets_open"),
            value(parsed, "neurall_subscriptions_open", operation="jobEvents"),
        )

    before = await gauges()
    ws = await client.http.ws_connect("/graphql", protocols=("graphql-transport-ws",))
    await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}})
    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
    events = "subscription($id: ID!) { jobEvents(jobId: $id) { seq } }"
    await ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": events, "variables": {"id": str(job.id)}},
        }
    )
    assert (await ws.receive_json(timeout=10))["type"] == "next"
    assert await gauges() == (before[0] + 1, before[1] + 1)
    await ws.send_json({"id": "1", "type": "complete"})
    await ws.close()
    for _ in range(100):  # the server notices the close on its own loop
        if await gauges() == before:
            break
        await asyncio.sleep(0.05)
    assert await gauges() == before


async def test_storage_errors_are_counted_by_operation(tmp_path):
    from neurall.metrics import STORAGE_ERRORS
    from neurall.storage import LocalStorage
    from neurall.storage.metered import MeteredStorage

    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    storage = MeteredStorage(LocalStorage(blocker))  # a root that is a file: writes fail
    before = STORAGE_ERRORS.labels("put")._value.get()
    with pytest.raises(NotADirectoryError):
        await storage.put("images/x/0.png", b"png")
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put("../escape", b"png")  # a refused key is a bug, not a disk error
    assert STORAGE_ERRORS.labels("put")._value.get() == before + 1
