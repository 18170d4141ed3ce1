"""The sentinel sweep: requests carrying a unique canary run through the real processes
(`neurall serve`, `neurall worker`, `neurall gpu` on Triton, RabbitMQ, PostgreSQL; and
`neurall serve` alone on SQLite), the sweeper runs, then every place data could linger is
searched for the canary and for the image bytes (tests/privacy/sentinel.py).

The distributed stack runs once with its storage in a local directory and once in an S3
bucket (moto's server on loopback), whose every object the search lists and reads.

Each test first shows its search can find what it looks for (a payload queue holding the
canary, an image file in storage, a playground prompt in the dump), then that nothing is
left: API jobs fetched, failed and dead-lettered, or never fetched (after their TTL), and a
playground job once its history item is deleted.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Vhost
from tests.generation.helpers import GENERATE, JOB
from tests.gpu.helpers import free_port
from tests.helpers import CREATE_KEY, PASSWORD, SIGN_UP
from tests.privacy.helpers import DELETE_ITEM, HISTORY
from tests.privacy.sentinel import Places, image_needles
from tests.s3 import S3Bucket, new_bucket
from tests.stack import NEURALL, Processes, distributed_stack, wait_http

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


def canary() -> str:
    return f"sentinel-{uuid.uuid4().hex}"


@pytest.fixture(scope="module", params=["local", "s3"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: Path,
    rabbitmq_vhost: Vhost,
) -> Iterator:
    """The distributed stack on a vhost of its own: "every queue" is exactly its queues;
    its storage is the data directory or a bucket of its own."""
    workdir = tmp_path_factory.mktemp("sentinel")
    bucket = new_bucket(request.getfixturevalue("s3_endpoint")) if request.param == "s3" else None
    env = {
        "NEURALL_GENERATION_MIN_BACKOFF_MS": "100",
        "NEURALL_GENERATION_MAX_BACKOFF_MS": "200",
        **(bucket.env if bucket else {}),
    }
    with distributed_stack(
        workdir, tiny_models, rabbitmq_vhost.url, max_queue_delay_us=1000, extra_env=env
    ) as s:
        places = Places(rabbitmq_vhost.url, rabbitmq_vhost.name, s["db"], [workdir], bucket)
        yield {**s, "places": places, "bucket": bucket}


class Api:
    """A GraphQL client on one account: ``key`` for API calls, the session cookie else."""

    def __init__(self, http: aiohttp.ClientSession, key: str) -> None:
        self.http, self.key = http, key

    async def __call__(self, query: str, variables: dict | None = None, *, api: bool = True):
        headers = {"Authorization": f"Bearer {self.key}"} if api else {}
        async with self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        ) as response:
            body = await response.json()
        assert "errors" not in body, body
        return body["data"]

    async def generate(self, *, api: bool = True, **fields: Any) -> str:
        data = await self(GENERATE, {"input": {"seed": 5, "steps": 4, **fields}}, api=api)
        assert data["generate"]["__typename"] == "Job", data
        return data["generate"]["id"]

    async def wait(self, job_id: str, *, api: bool = True, within: float = 120) -> dict:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            job = (await self(JOB, {"id": job_id}, api=api))["job"]
            if job["status"] in ("SUCCEEDED", "FAILED", "CANCELED"):
                return job
            await asyncio.sleep(0.2)
        raise AssertionError(f"job {job_id} did not end")

    async def get(self, url: str, *, api: bool = True) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.key}"} if api else {}
        async with self.http.get(url, headers=headers) as response:
            return response.status, await response.read()


async def _account(base_url: str) -> AsyncIterator[Api]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=base_url, cookie_jar=jar) as http:
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        async with http.post(
            "/graphql",
            json={"query": SIGN_UP, "variables": {"input": {"email": email, "password": PASSWORD}}},
        ) as response:
            assert (await response.json())["data"]["signUp"]["__typename"] == "Session"
        async with http.post(
            "/graphql", json={"query": CREATE_KEY, "variables": {"name": "k", "scopes": None}}
        ) as response:
            key = (await response.json())["data"]["createApiKey"]["secret"]
        yield Api(http, key)


@pytest.fixture
async def api(stack: dict) -> AsyncIterator[Api]:
    async for client in _account(stack["api"]):
        yield client


def sweep(env: dict[str, str]) -> None:
    """`neurall retention run`, as an operator (or the maintenance actor) would."""
    result = subprocess.run(
        [*NEURALL, "retention", "run"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def worker(stack: dict, **env: str) -> Any:
    process, _ = stack["procs"].start("worker", "worker", "--threads", "2", extra_env=env)
    return process


def stored_image(stack: dict, job_id: str) -> bytes:
    key = f"images/{job_id}/0.png"
    bucket: S3Bucket | None = stack["bucket"]
    if bucket is None:
        return (stack["data"] / "storage" / key).read_bytes()
    assert not (stack["data"] / "storage").exists()  # nothing stored beside the bucket
    return bucket.read(key)


async def test_api_job_fetched_leaves_nothing(stack, api):
    places, secret = stack["places"], canary()
    job_id = await api.generate(prompt=f"a fox {secret}", negativePrompt=f"blur {secret}")
    # The scan sees the request while it waits in its ephemeral payload queue.
    assert [h for h in places.scan([secret.encode()]) if "neurall.payload." in h]
    process = worker(stack)
    try:
        job = await api.wait(job_id)
        assert job["status"] == "SUCCEEDED"
        assert job["params"] is None
        png = stored_image(stack, job_id)
        assert places.scan(image_needles(png))  # the file is found before the fetch
        status, body = await api.get(job["images"][0]["url"])
        assert (status, body) == (200, png)
        assert (await api.get(job["images"][0]["url"]))[0] == 404
        assert (await api(JOB, {"id": job_id}))["job"]["images"] == []
    finally:
        stack["procs"].stop(process)
    sweep(stack["env"])
    assert places.scan([secret.encode(), *image_needles(png)]) == []
    # No image of any kind in the logs (previews travel as data: URLs in events).
    logs = [p for p in places.files() if p.suffix == ".log"]
    assert logs
    assert not [p for p in logs if b"data:image" in p.read_bytes()]


async def test_api_job_never_fetched_leaves_nothing_after_its_ttl(stack, api):
    places, secret = stack["places"], canary()
    job_id = await api.generate(prompt=secret)
    process = worker(stack, NEURALL_API_IMAGE_TTL_S="1")
    try:
        job = await api.wait(job_id)
    finally:
        stack["procs"].stop(process)
    assert job["status"] == "SUCCEEDED"
    png = stored_image(stack, job_id)
    await asyncio.sleep(1.5)  # past the TTL: no longer listed, then swept
    assert (await api(JOB, {"id": job_id}))["job"]["images"] == []
    sweep(stack["env"])
    assert places.scan([secret.encode(), *image_needles(png)]) == []


async def test_playground_canary_kept_in_history_until_deleted(stack, api):
    places, secret = stack["places"], canary()
    job_id = await api.generate(api=False, prompt=secret)
    process = worker(stack)
    try:
        job = await api.wait(job_id, api=False)
    finally:
        stack["procs"].stop(process)
    assert job["params"]["prompt"] == secret
    png = stored_image(stack, job_id)
    sweep(stack["env"])
    history = (await api(HISTORY, api=False))["history"]["edges"]
    assert [e["node"]["job"]["params"]["prompt"] for e in history] == [secret]
    hits = places.scan([secret.encode(), *image_needles(png)])
    assert any(h.startswith("pg_dump") for h in hits)
    assert any("images" in h for h in hits)
    assert not [h for h in hits if h.endswith(".log") or "queue" in h], hits
    deleted = (await api(DELETE_ITEM, {"id": job_id}, api=False))["deleteHistoryItem"]
    assert deleted["deletedCount"] == 1
    sweep(stack["env"])
    assert places.scan([secret.encode(), *image_needles(png)]) == []


# Last of the stack's tests: its oversized job may keep the Triton server busy after the
# worker gave up, which would hold up the next test's job on a loaded machine.
async def test_api_job_failed_and_dead_lettered_leaves_nothing(stack, api):
    places, secret = stack["places"], canary()
    # Its worker gives every message 1 s and no retry: this job's message is dead-lettered.
    # Big enough that no machine finishes it within the limit.
    job_id = await api.generate(prompt=secret, steps=150, width=512, height=512)
    process = worker(stack, NEURALL_GENERATION_TIME_LIMIT_S="1", NEURALL_GENERATION_MAX_RETRIES="0")
    try:
        job = await api.wait(job_id, within=60)
    finally:
        stack["procs"].stop(process)
    assert job["status"] == "FAILED", job
    assert job["images"] == []
    # Dramatiq dead-letters a rejected message through the .XQ queue (to .DQ on expiry):
    # it is kept there, holding only the job id.
    messages = places.queue_messages()
    dead = messages["generation.XQ"] + messages["generation.DQ"]
    assert any(job_id.encode() in m and b"rejected" in m for m in dead), dead
    assert (await api("{ me { heldCredits } }"))["me"]["heldCredits"] == 0
    sweep(stack["env"])
    assert places.scan([secret.encode()]) == []


async def test_embedded_sqlite_path_leaves_nothing(tmp_path, tiny_models, rabbitmq_vhost):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(tiny_models, target_is_directory=True)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")},
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(data_dir),
        "NEURALL_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    procs = Processes(tmp_path, env)
    serve, log = procs.start("serve", "serve", "--port", str(port))
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", serve, log)
        places = Places(rabbitmq_vhost.url, rabbitmq_vhost.name, None, [tmp_path])
        api_secret, kept = canary(), canary()
        async for api in _account(f"http://127.0.0.1:{port}"):
            job = await api.wait(await api.generate(prompt=api_secret))
            playground = await api.wait(await api.generate(api=False, prompt=kept), api=False)
            png = (data_dir / "storage" / "images" / job["id"] / "0.png").read_bytes()
            assert (await api.get(job["images"][0]["url"])) == (200, png)
            sweep(env)
            # The kept playground prompt is found in the SQLite file: the search works.
            assert any("sqlite" in h for h in places.scan([kept.encode()]))
            assert playground["status"] == "SUCCEEDED"
    finally:
        procs.stop_all()
    assert places.scan([api_secret.encode(), *image_needles(png)]) == []
