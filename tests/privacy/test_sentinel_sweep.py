"""The sentinel sweep: requests carrying a unique canary run through the real processes
(`neurall serve`, `neurall worker`, `neurall gpu` on Triton, RabbitMQ, PostgreSQL; and
`neurall serve` alone on SQLite), the sweeper runs, then every place data could linger is
searched for the canary and for the image bytes (tests/support/sentinel.py).

The distributed stack runs once with its storage in a local directory and once in an S3
bucket (moto's server on loopback), whose every object the search lists and reads.

Each test first shows its search can find what it looks for (a payload queue holding the
canary, an image file in storage, a playground prompt in the dump), then that nothing is
left: API jobs fetched, failed and dead-lettered, canceled, or never fetched (after their
TTL), and a playground job once its history item is deleted. Every job also uploads a
canary input image (image-to-image or inpainting), which must be gone as soon as the job
ends, whatever the ending (a worker killed mid-job included), even while a playground job's
parameters stay in its history.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.graphql import (
    CANCEL,
    DELETE_ITEM,
    HISTORY,
    JOB,
)
from tests.support.poll import until
from tests.support.ports import free_port
from tests.support.processes import Processes, distributed_stack, start_worker, wait_http
from tests.support.s3 import S3Bucket, new_bucket
from tests.support.sentinel import Places, image_needles, input_image, sweep
from tests.support.services import Vhost
from tests.support.stack_api import StackApi, stack_account

pytestmark = pytest.mark.slow


def canary() -> str:
    return f"sentinel-{uuid.uuid4().hex}"


@pytest.fixture(scope="module", params=["local", "s3"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: Path,
    rabbitmq_vhost: Vhost,
    postgres_server: str,
    gpu_server: Path,
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


@pytest.fixture
async def api(stack: dict) -> AsyncIterator[StackApi]:
    async with stack_account(stack["api"]) as client:
        yield client


def stored_image(stack: dict, job_id: str) -> bytes:
    key = f"images/{job_id}/0.png"
    bucket: S3Bucket | None = stack["bucket"]
    if bucket is None:
        return (stack["data"] / "storage" / key).read_bytes()
    assert not (stack["data"] / "storage").exists()  # nothing stored beside the bucket
    return bucket.read(key)


async def test_api_job_fetched_leaves_nothing(stack, api):
    places, secret = stack["places"], canary()
    upload, inputs = input_image()
    job_id = await api.generate(
        prompt=f"a fox {secret}", negativePrompt=f"blur {secret}", files={"initImage": upload}
    )
    # The scan sees the request and its input image while they wait in the payload queue.
    assert [h for h in places.scan([secret.encode()]) if "neurall.payload." in h]
    found = places.scan(inputs)
    assert found
    assert all("neurall.payload." in h for h in found), found
    process, _ = start_worker(stack)
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
    assert places.scan([secret.encode(), *image_needles(png), *inputs]) == []
    # No image of any kind in the logs (previews travel as data: URLs in events).
    logs = [p for p in places.files() if p.suffix == ".log"]
    assert logs
    assert not [p for p in logs if b"data:image" in p.read_bytes()]


async def test_api_job_never_fetched_leaves_nothing_after_its_ttl(stack, api):
    places, secret = stack["places"], canary()
    upload, inputs = input_image()
    job_id = await api.generate(prompt=secret, files={"initImage": upload})
    process, _ = start_worker(stack, NEURALL_API_IMAGE_TTL_S="1")
    try:
        job = await api.wait(job_id)
    finally:
        stack["procs"].stop(process)
    assert job["status"] == "SUCCEEDED"
    png = stored_image(stack, job_id)
    # Past the TTL it is no longer listed, then swept.
    await until(
        lambda: api(JOB, {"id": job_id}),
        lambda data: data["job"]["images"] == [],
        within=30,
        what="the image leaving the job past its TTL",
    )
    sweep(stack["env"])
    assert places.scan([secret.encode(), *image_needles(png), *inputs]) == []


async def test_playground_canary_kept_in_history_until_deleted(stack, api):
    places, secret = stack["places"], canary()
    upload, inputs = input_image()
    mask, mask_needles = input_image()
    inputs += mask_needles
    files = {"initImage": upload, "mask": mask}
    job_id = await api.generate(api=False, prompt=secret, files=files)
    # Its input images wait in the payload queue, never in the database with its params.
    found = places.scan(inputs)
    assert found
    assert all("neurall.payload." in h for h in found), found
    process, _ = start_worker(stack)
    try:
        job = await api.wait(job_id, api=False)
    finally:
        stack["procs"].stop(process)
    assert job["params"]["prompt"] == secret
    png = stored_image(stack, job_id)
    # The job ended: its parameters stay as history, its input images are gone.
    assert places.scan(inputs) == []
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


async def test_canceled_and_killed_jobs_leave_no_input_image(stack, api):
    places, secret = stack["places"], canary()
    # Canceled while queued (no worker is running).
    upload, inputs = input_image()
    canceled = await api.generate(prompt=secret, files={"initImage": upload})
    assert places.scan(inputs)
    assert (await api(CANCEL, {"id": canceled}))["cancelJob"]["status"] == "CANCELED"
    assert places.scan([secret.encode(), *inputs]) == []
    # A playground job whose worker is killed mid-job: redelivered, finished once, and its
    # input image goes when it ends.
    upload, killed_inputs = input_image()
    job_id = await api.generate(
        api=False, prompt=secret, steps=60, strength=0.9, files={"initImage": upload}
    )
    process, _ = start_worker(stack)
    try:
        # Polled rather than subscribed: a subscription would add the server's exclusive
        # event queue to the vhost, which the queue scan cannot read.
        await until(
            lambda: api(JOB, {"id": job_id}, api=False),
            lambda data: data["job"]["step"] >= 3,
            within=120,
            what="the job getting going",
        )
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        stack["procs"].stop(process)
        process, _ = start_worker(stack)
        job = await api.wait(job_id, api=False, within=180)
    finally:
        stack["procs"].stop(process)
    assert job["status"] == "SUCCEEDED", job
    sweep(stack["env"])
    assert places.scan(killed_inputs) == []


def pipeline_busy_s(stack: dict) -> float:
    """Seconds the stack's Triton model has spent in pipeline calls, counted as each call
    ends, whatever its outcome (`neurall gpu --stats-file`)."""
    stats = stack["stats"]
    return json.loads(stats.read_text())["busy_s"] if stats.exists() else 0.0


async def test_api_job_failed_and_dead_lettered_leaves_nothing(stack, api):
    places, secret = stack["places"], canary()
    # Its worker gives every message 1 s and no retry: this job's message is dead-lettered.
    # Big enough that no CPU finishes it within the limit (about 5 s here at 512 px),
    # yet small: the Triton server cannot see its client leave, so it finishes the job
    # after the worker has given up; the test waits for that, leaving the stack idle.
    upload, inputs = input_image()
    busy_before = pipeline_busy_s(stack)
    job_id = await api.generate(
        prompt=secret, steps=25, width=512, height=512, strength=1.0, files={"initImage": upload}
    )
    process, _ = start_worker(
        stack, NEURALL_GENERATION_TIME_LIMIT_S="1", NEURALL_GENERATION_MAX_RETRIES="0"
    )
    try:
        job = await api.wait(job_id, within=60)
    finally:
        stack["procs"].stop(process)
    await until(
        lambda: pipeline_busy_s(stack),
        lambda busy: busy != busy_before,
        within=180,
        every=0.5,
        what="the Triton server finishing the abandoned job",
    )
    assert job["status"] == "FAILED", job
    assert job["images"] == []
    # Dramatiq dead-letters a rejected message through the .XQ queue (to .DQ on expiry):
    # it is kept there, holding only the job id.
    messages = places.queue_messages()
    dead = messages["generation.XQ"] + messages["generation.DQ"]
    assert any(job_id.encode() in m and b"rejected" in m for m in dead), dead
    assert (await api("{ me { heldCredits } }"))["me"]["heldCredits"] == 0
    sweep(stack["env"])
    assert places.scan([secret.encode(), *inputs]) == []


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
        upload, inputs = input_image()
        files = {"initImage": upload}
        async with stack_account(f"http://127.0.0.1:{port}") as api:
            job = await api.wait(await api.generate(prompt=api_secret, files=files))
            playground = await api.wait(
                await api.generate(api=False, prompt=kept, files=files), api=False
            )
            png = (data_dir / "storage" / "images" / job["id"] / "0.png").read_bytes()
            assert (await api.get(job["images"][0]["url"])) == (200, png)
            sweep(env)
            # The kept playground prompt is found in the SQLite file: the search works.
            assert any("sqlite" in h for h in places.scan([kept.encode()]))
            assert playground["status"] == "SUCCEEDED"
    finally:
        procs.stop_all()
    assert places.scan([api_secret.encode(), *image_needles(png), *inputs]) == []
