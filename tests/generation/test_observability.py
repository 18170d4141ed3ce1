"""Observability of the distributed form, on real processes: `/metrics` of `neurall serve`,
`neurall worker` (NEURALL_METRICS_PORT) and `neurall gpu` (--pipeline-metrics-port)
parse with prometheus_client's parser, their labels are bounded, the shipped dashboard and
alert rules use only metrics these processes expose; and with NEURALL_LOG_FORMAT=json one
generate request can be followed by its request id from the API into the worker, with
no prompt in any log.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.graphql import CREATE_KEY, GENERATE, JOB, PASSWORD, SIGN_UP, small_input
from tests.support.metrics_scrape import (
    assert_bounded,
    families,
    referenced_metrics,
    sample_names,
    value,
)
from tests.support.poll import until, until_sync
from tests.support.ports import free_port
from tests.support.processes import distributed_stack, wait_http

pytestmark = pytest.mark.slow

PROMPT = "an otter reading metrics 4c9d"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: Path,
    broker_url: str,
    postgres_server: str,
    gpu_server: Path,
) -> Iterator[dict[str, Any]]:
    """serve and gpu from the shared stack, JSON logs, plus one worker with its metrics."""
    gpu_metrics, worker_metrics = free_port(), free_port()
    with distributed_stack(
        tmp_path_factory.mktemp("observability"),
        tiny_models,
        broker_url,
        max_queue_delay_us=1000,
        extra_env={"NEURALL_LOG_FORMAT": "json"},
        gpu_args=("--pipeline-metrics-port", str(gpu_metrics)),
    ) as s:
        worker, worker_log = s["procs"].start(
            "worker",
            "worker",
            "--threads",
            "2",
            extra_env={"NEURALL_METRICS_PORT": str(worker_metrics)},
        )
        wait_http(f"http://127.0.0.1:{worker_metrics}/metrics", worker, worker_log)
        s["worker_log"] = worker_log
        s["metrics"] = {
            "serve": f"{s['api']}/metrics",
            "worker": f"http://127.0.0.1:{worker_metrics}/metrics",
            "gpu": f"http://127.0.0.1:{gpu_metrics}/metrics",
        }
        yield s


def _scrape(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http://
        return families(response.read().decode())


async def _generate(api: str, request_id: str) -> str:
    """Sign up, make a key, generate with it under ``request_id``; the job's id once done."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=api, cookie_jar=jar) as http:

        async def gql(query: str, variables: dict, headers: dict | None = None) -> dict:
            async with http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            ) as response:
                body = await response.json()
                assert "errors" not in body, body
                return body["data"] | {"_request_id": response.headers.get("X-Request-Id")}

        email = f"{uuid.uuid4().hex[:8]}@example.com"
        await gql(SIGN_UP, {"input": {"email": email, "password": PASSWORD}})
        key = (await gql(CREATE_KEY, {"name": "k", "scopes": None}))["createApiKey"]["secret"]
        jar.clear()
        auth = {"Authorization": f"Bearer {key}"}
        made = await gql(
            GENERATE,
            {"input": small_input(prompt=PROMPT, width=64, height=64, steps=2)},
            auth | {"X-Request-Id": request_id},
        )
        assert made["_request_id"] == request_id
        assert made["generate"]["__typename"] == "Job", made
        job_id = made["generate"]["id"]
        job = await until(
            lambda: gql(JOB, {"id": job_id}, auth),
            lambda answer: answer["job"]["status"] not in ("QUEUED", "RUNNING"),
            within=120,
            every=0.2,
            what=f"job {job_id} ending",
        )
        assert job["job"]["status"] == "SUCCEEDED", job
        return job_id


@pytest.fixture(scope="module")
def generated(stack: dict[str, Any]) -> dict[str, str]:
    request_id = f"obs-{uuid.uuid4().hex}"
    job_id = asyncio.run(_generate(stack["api"], request_id))
    return {"request_id": request_id, "job_id": job_id}


def test_every_process_exposes_parseable_bounded_metrics(stack, generated):
    # The worker counts a message once its actor returned, which is after the job's
    # commit (and the wake-ups sent after it): the job can read SUCCEEDED a little earlier.
    until_sync(
        lambda: _scrape(stack["metrics"]["worker"]),
        lambda worker: value(
            worker, "neurall_worker_messages_total", actor="generate_image", outcome="done"
        ),
        within=30,
        what="the worker counting the generation message",
    )
    scraped = {name: _scrape(url) for name, url in stack["metrics"].items()}
    for parsed in scraped.values():
        assert_bounded(parsed)
    serve, worker, gpu = scraped["serve"], scraped["worker"], scraped["gpu"]
    assert value(serve, "neurall_graphql_operations_total", operation="generate", outcome="ok")
    assert value(serve, "neurall_graphql_duration_seconds_count", operation="job") >= 1
    assert "neurall_credits_held" in serve
    assert "neurall_jobs_queued" in serve
    assert value(worker, "neurall_worker_messages_total", actor="generate_image", outcome="done")
    assert value(worker, "neurall_worker_queue_wait_seconds_count", actor="generate_image")
    assert value(worker, "neurall_worker_run_seconds_count", actor="generate_image")
    assert value(worker, "neurall_credits_charged_total") > 0  # the worker settles holds
    assert value(gpu, "neurall_gpu_pipeline_calls_total", outcome="ok") >= 1
    assert value(gpu, "neurall_gpu_batch_size_count") >= 1
    assert value(gpu, "neurall_gpu_busy_seconds_total") > 0
    # Triton said ready (the stack waited for it) only after the pipeline had loaded.
    assert value(gpu, "neurall_gpu_pipeline_loaded") == 1
    for parsed in scraped.values():
        assert not any(PROMPT in str(samples) for samples in parsed.values())


def test_the_dashboard_and_alerts_use_only_exposed_metrics(stack, generated):
    exposed: set[str] = set()
    for url in stack["metrics"].values():
        exposed |= sample_names(_scrape(url))
    suffix = re.compile(r"_(total|bucket|count|sum)$")
    missing = {
        name
        for name in referenced_metrics()
        if name not in exposed and suffix.sub("", name) not in exposed
    }
    assert not missing, missing


def test_readyz_checks_the_broker(stack):
    with urllib.request.urlopen(f"{stack['api']}/readyz", timeout=10) as response:  # noqa: S310
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ready"}


def _json_lines(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line in {log.name}: {line[:200]}") from None
    return parsed


def test_json_logs_follow_one_request_into_the_worker(stack, generated):
    request_id, job_id = generated["request_id"], generated["job_id"]
    workdir = Path(stack["data"]).parent
    serve_lines = _json_lines(next(workdir.glob("serve-*.log")))
    # The worker's last line about the message is written after the job's commit.
    worker_lines = until_sync(
        lambda: _json_lines(stack["worker_log"]),
        lambda lines: any(
            r.get("request_id") == request_id and r.get("duration_ms") is not None for r in lines
        ),
        within=30,
        what="the worker's line ending the message",
    )
    ours = [r for r in worker_lines if r.get("request_id") == request_id]
    served = [r for r in serve_lines if r.get("request_id") == request_id]
    assert any(r.get("operation") == "generate" and "duration_ms" in r for r in served), served
    assert any(r.get("job_id") == job_id for r in served), served
    assert ours, worker_lines[-20:]
    assert all(r.get("job_id") == job_id for r in ours), ours
    assert any(r.get("duration_ms") is not None for r in ours), ours
    for log in workdir.glob("*.log"):
        text = log.read_text()
        assert PROMPT not in text, log.name
        assert "variables" not in text, log.name
