"""neurall_client (clients/python) against a real embedded `neurall serve`: both clients,
uploads, events resumed after a dropped socket, every error class, a retry after a lost
answer that makes one job, and webhooks.verify on a real delivery. One server for the
module, the tiny model, few steps, 64x64."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from neurall_client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    InsufficientCreditsError,
    InvalidInputError,
    JobEventType,
    JobPriority,
    JobStatus,
    NotFoundError,
    PermissionError,
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
    SpendLimitReachedError,
    webhooks,
)
from neurall_client.webhooks import WebhookVerificationError
from PIL import Image as PILImage

from tests.support.clones import photos
from tests.support.poll import until_sync
from tests.support.processes import embedded_serve
from tests.support.sdk import Account, Proxy, set_spend_limit, sign_up
from tests.support.webhooks import CREATE

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"
SMALL = {"width": 64, "height": 64, "steps": 4, "seed": 7}
FAST = RetryPolicy(max_retries=3, base_delay=0.05, max_delay=0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_models: Path) -> Iterator[str]:
    with embedded_serve(
        tmp_path_factory.mktemp("sdk-serve"),
        tiny_models,
        NEURALL_SIGNUPS_PER_IP_PER_HOUR="1000",
        # 100 credits: enough for every 64x64 job here, short of the InsufficientCredits one.
        NEURALL_SIGNUP_GRANT_CREDITS="100",
        # The RateLimitedError test's second clone of the hour.
        NEURALL_CLONES_PER_HOUR_PER_ACCOUNT="1",
        NEURALL_WEBHOOKS_ALLOW_INSECURE_URLS="1",
    ) as serve:
        yield serve.base


@pytest.fixture(scope="module")
def account(server: str) -> Account:
    return sign_up(server)


@pytest.fixture(scope="module")
def client(server: str, account: Account) -> Iterator[Client]:
    with Client(server, api_key=account.key, retry=FAST) as c:
        yield c


def png(color: str, size: int = 64) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (size, size), color).save(out, "PNG")
    return out.getvalue()


# ------------------------------------------------------------------- the sync client


def test_generate_returns_the_finished_job_and_its_png(client: Client, tmp_path: Path) -> None:
    job = client.generate("a lighthouse at dusk", model="tiny-sd", **SMALL)
    assert job.status == JobStatus.SUCCEEDED
    assert job.finished
    assert (job.model, len(job.images)) == ("tiny-sd", 1)
    data = job.images[0].read()
    assert data.startswith(PNG)
    # An API image is served once; the bytes read are kept, so save() still works.
    assert job.images[0].save(tmp_path / "out.png").read_bytes() == data
    assert PILImage.open(io.BytesIO(data)).size == (64, 64)


def test_the_environment_names_server_and_key(server: str, account: Account, monkeypatch) -> None:
    monkeypatch.setenv("NEURALL_URL", server)
    monkeypatch.setenv("NEURALL_API_KEY", account.key)
    with Client() as c:
        assert next(m.id for m in c.models()) == "tiny-sd"
        assert c.estimate("a cat", model="tiny-sd", width=64, height=64) >= 1


def test_submit_then_events_to_succeeded_then_job_and_jobs(client: Client) -> None:
    queued = client.submit("a cat", **SMALL)
    assert queued.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    events = list(client.events(queued.id))
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    assert events[-1].type_ == JobEventType.SUCCEEDED
    assert events[-1].images
    assert client.job(queued.id).status == JobStatus.SUCCEEDED
    assert queued.id in [j.id for j in client.jobs(status="SUCCEEDED", page_size=1)]


def test_a_dropped_socket_resumes_after_the_last_seq(server: str, account: Account) -> None:
    proxy = Proxy(server, drop_after="PROGRESS").start()
    try:
        with Client(proxy.url, api_key=account.key, retry=FAST) as c:
            job = c.submit("a slow one", **{**SMALL, "steps": 12})
            events = list(c.events(job.id))
    finally:
        proxy.stop()
    seqs = [e.seq for e in events]
    assert proxy.socket_count >= 2  # it did reconnect
    # ... asking for what followed the last event it had.
    resumed = proxy.subscribed[1]["afterSeq"]
    assert resumed in seqs
    assert [s for s in seqs if s > resumed] == seqs[seqs.index(resumed) + 1 :]
    assert len(seqs) == len(set(seqs))
    assert seqs == sorted(seqs)
    steps = [e.step for e in events if e.type_ == JobEventType.PROGRESS]
    assert len(steps) == len(set(steps)), [(e.seq, e.type_.value, e.step) for e in events]
    assert events[-1].type_ == JobEventType.SUCCEEDED


def test_image_to_image_and_inpainting_uploads(client: Client, tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(png("red"))
    img2img = client.generate("as a watercolour", init_image=str(source), strength=0.6, **SMALL)
    assert img2img.status == JobStatus.SUCCEEDED, img2img.error
    mask = io.BytesIO(png("white"))
    with source.open("rb") as opened:
        inpaint = client.generate("repaint", init_image=opened, mask=mask.getvalue(), **SMALL)
    assert inpaint.status == JobStatus.SUCCEEDED, inpaint.error
    assert inpaint.images[0].read().startswith(PNG)


def test_a_clone_is_created_from_photos_and_its_events_end_ready(client: Client) -> None:
    files = [data for _, data in photos(3, size=64)]
    clone = client.create_clone("me", photos=files, base_model="tiny-sd", training_steps=2)
    states = list(client.clone_events(clone.id, timeout=120))
    assert states[-1].status.value == "READY", states[-1]
    assert client.clone(clone.id).source_images_deleted


def test_a_retry_after_a_lost_answer_makes_one_job(server: str, account: Account) -> None:
    proxy = Proxy(server, fail_generates=1).start()
    try:
        with Client(proxy.url, api_key=account.key, retry=FAST) as c:
            before = len(list(c.jobs()))
            job = c.submit("once", **SMALL)
            generates = [p for p in proxy.posts if b"generate(" in p]
            # Two tries reached the server with one key; it made one job.
            assert len(generates) == 2
            keys = {json.loads(p)["variables"]["idempotencyKey"] for p in generates}
            assert len(keys) == 1
            assert len(list(c.jobs())) == before + 1
            assert c.job(job.id).id == job.id
    finally:
        proxy.stop()


# ------------------------------------------------------------------------ the errors


def test_each_error_class(server: str, client: Client, account: Account) -> None:
    with pytest.raises(InvalidInputError) as invalid:
        client.submit("x", width=65)
    assert invalid.value.fields == ["input.width"]
    with pytest.raises(InsufficientCreditsError) as short:
        # 240 credits, more than the 100 an account starts with.
        client.submit("x", width=1024, height=1024, steps=150, num_images=8)
    assert short.value.required > short.value.available
    with pytest.raises(NotFoundError):
        client.job("job_doesnotexist")
    with pytest.raises(NotFoundError):
        client.cancel("job_doesnotexist")
    client.submit("a", idempotency_key="same-key", **SMALL)
    with pytest.raises(ConflictError):
        client.submit("b", idempotency_key="same-key", **SMALL)
    stranger = Client(server, api_key="nk_not_a_key", retry=FAST)
    with stranger, pytest.raises(AuthenticationError):
        stranger.submit("x", **SMALL)
    read_only, _ = account.new_key(["READ"])
    reader = Client(server, api_key=read_only, retry=FAST)
    with reader, pytest.raises(PermissionError):
        reader.submit("x", **SMALL)
    capped, capped_id = account.new_key()
    set_spend_limit(account, capped_id, 1)
    with Client(server, api_key=capped, retry=FAST) as spender:
        spender.submit("the one credit", **SMALL)
        with pytest.raises(SpendLimitReachedError):
            spender.submit("one more", **SMALL)


def test_rate_limited_and_service_unavailable(server: str) -> None:
    other = sign_up(server)
    files = [data for _, data in photos(3, size=64)]
    with Client(server, api_key=other.key, retry=FAST) as c:
        c.create_clone("one", photos=files, base_model="tiny-sd", training_steps=1)
        with pytest.raises(RateLimitedError) as limited:
            c.create_clone("two", photos=files, base_model="tiny-sd", training_steps=1)
        assert limited.value.retry_after
        assert limited.value.retry_after > 0
    # One retry: each waits the proxy's Retry-After of 1 s.
    once = RetryPolicy(max_retries=1, base_delay=0.05)
    proxy = Proxy(server, refuse_with=503).start()
    try:
        through = Client(proxy.url, api_key=other.key, retry=once)
        with through, pytest.raises(ServiceUnavailableError) as unavailable:
            through.submit("x", **SMALL)
        assert unavailable.value.retry_after == 1
        # The first try and one retry, no more.
        assert len(proxy.posts) == 2
        proxy.refuse_with = 429
        through = Client(proxy.url, api_key=other.key, retry=once)
        with through, pytest.raises(RateLimitedError) as throttled:
            through.submit("x", **SMALL)
        assert throttled.value.retry_after == 1
    finally:
        proxy.stop()


# ------------------------------------------------------------------ the async client


async def test_the_async_client_generates_streams_and_pages(server: str, account: Account) -> None:
    async with AsyncClient(server, api_key=account.key, retry=FAST) as ac:
        job = await ac.generate("a lighthouse", **SMALL)
        assert job.status == JobStatus.SUCCEEDED
        assert (await job.images[0].read()).startswith(PNG)
        queued = await ac.submit("a cat", init_image=png("blue"), strength=0.5, **SMALL)
        types = [event.type_ async for event in ac.events(queued.id)]
        assert types[-1] == JobEventType.SUCCEEDED
        ids = [j.id async for j in ac.jobs(page_size=2)]
        assert {job.id, queued.id} <= set(ids)
        assert len(ids) == len(set(ids))
        assert next(m.id for m in await ac.models()) == "tiny-sd"
        with pytest.raises(InvalidInputError):
            await ac.submit("x", steps=0)
        canceled = await ac.cancel((await ac.submit("stop", **{**SMALL, "steps": 150})).id)
        assert canceled.status == JobStatus.CANCELED
        # The queue's BATCH lane, priced and queued as the contract says.
        assert await ac.estimate("bulk", priority="BATCH", **SMALL) >= 1
        batch = await ac.submit("bulk", priority=JobPriority.BATCH, **SMALL)
        assert batch.priority == JobPriority.BATCH
        await ac.cancel(batch.id)
    # A clone of an account of its own: the server allows one an hour.
    async with AsyncClient(server, api_key=sign_up(server).key, retry=FAST) as ac:
        files = [data for _, data in photos(3, size=64)]
        clone = await ac.create_clone("me", photos=files, base_model="tiny-sd", training_steps=1)
        states = [state async for state in ac.clone_events(clone.id, timeout=120)]
        assert states[-1].status.value == "READY"


# ----------------------------------------------------------------------- webhooks


class _Receiver(BaseHTTPRequestHandler):
    deliveries: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.deliveries.append(({k: v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_webhooks_verify_a_real_delivery(client: Client, account: Account) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        created = account.data(CREATE, {"input": {"url": url, "events": ["JOB_SUCCEEDED"]}})
        secret = created["createWebhookEndpoint"]["secret"]
        job = client.generate("hooked", **SMALL)
        # The delivery of this job (another job of the account may end meanwhile).
        delivered = until_sync(
            lambda: [d for d in _Receiver.deliveries if job.id.encode() in d[1]],
            bool, within=60, what="the job's webhook delivery",
        )  # fmt: skip
    finally:
        receiver.shutdown()
    headers, body = delivered[0]
    payload = webhooks.verify(body, headers, secret)
    assert payload["type"] == "job.succeeded"
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body.replace(b"job", b"jab", 1), headers, secret)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body, headers, secret, now=time.time() + 3600)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body, {**headers, "webhook-signature": "v1,AAAA"}, secret)
