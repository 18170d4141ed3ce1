"""Deliveries to a real receiver on loopback, verified with the standardwebhooks library:
every event type signed, with a stable event id, a thin body and never a prompt."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import pytest

from neurall.app import SERVICES
from neurall.clones.training import fail_clone
from neurall.generation import progress, service
from neurall.orm.clones import Clone, CloneStatus
from neurall.orm.webhooks import WebhookDelivery
from neurall.webhooks import outbox
from neurall.webhooks.dispatch import dispatch_soon
from neurall.webhooks.events import EventType
from tests.support.factories import create_key, sign_up
from tests.support.graphql import CANCEL, GENERATE, small_input
from tests.support.jobs import wait_done
from tests.support.poll import until
from tests.support.webhooks import create_endpoint, deliveries

pytestmark = pytest.mark.usefixtures("database_url")

CANARY = "webhook-canary-2c1d8e"
PROFILE = """mutation($t: Int) { updateProfile(input: {lowCreditThreshold: $t}) {
  __typename ... on Account { lowCreditThreshold } } }"""
EVENT_ID = re.compile(r"^msg_[0-9a-f]{32}$")


def _check(delivery: Any, secret: str) -> dict[str, Any]:
    """Signed with the endpoint's secret, a stable id, a thin body without the canary."""
    assert delivery.verified_with == [secret]
    assert EVENT_ID.match(delivery.event_id)
    assert CANARY.encode() not in delivery.body
    payload = delivery.payload
    assert set(payload) == {"type", "timestamp", "data"}
    return payload


async def test_every_event_type_reaches_the_receiver_signed_and_thin(client, receiver):
    await sign_up(client)
    key = await create_key(client, ["GENERATE", "READ", "WEBHOOKS"])
    created = await create_endpoint(client, receiver.url, api_key=key)
    secret = created["secret"]
    assert secret.startswith("whsec_")
    receiver.secrets = [secret]
    await client.data(PROFILE, {"t": 99})  # 100 sign-up credits: the first hold crosses it

    # An API job that succeeds: job.started, job.succeeded, and credits.low on its hold.
    job = (await client.data(GENERATE, {"input": small_input(prompt=CANARY)}, api_key=key))[
        "generate"
    ]
    done = await wait_done(client, job["id"], key)
    assert done["status"] == "SUCCEEDED"
    # One canceled while queued behind a long one, one failed by the server.
    busy = (await client.data(GENERATE, {"input": small_input(steps=40)}, api_key=key))["generate"]
    queued = (await client.data(GENERATE, {"input": small_input(seed=3)}, api_key=key))["generate"]
    await client.data(CANCEL, {"id": queued["id"]}, api_key=key)
    runtime = client.http.app[SERVICES].generation
    await service.fail(uuid.UUID(busy["id"]), "The inference service is unavailable.", runtime)
    # Clones: a failed one through the training's own ending; a ready one recorded as
    # training records it (the training itself is covered in tests/clones).
    account_id = uuid.UUID((await client.data("{ me { id } }"))["me"]["id"])
    failing = await Clone.create(
        account_id=account_id, name="c", trigger_word="sks", image_count=3, total_steps=2
    )
    await fail_clone(failing.id, "Training failed.", client.http.app[SERVICES].clones)
    ready = await Clone.create(
        account_id=account_id,
        name="r",
        trigger_word="sks",
        image_count=3,
        total_steps=2,
        status=CloneStatus.READY,
    )
    dispatch_soon(await outbox.record(account_id, EventType.CLONE_READY, subject_id=ready.id))

    wanted = {
        "job.started",
        "job.succeeded",
        "job.canceled",
        "job.failed",
        "clone.failed",
        "clone.ready",
        "credits.low",
    }
    await until(
        lambda: {d.payload["type"] for d in receiver.deliveries},
        lambda types: wanted <= types,
        within=60,
        what=f"deliveries of every type in {sorted(wanted)}",
    )

    ids = [d.event_id for d in receiver.deliveries]
    assert len(set(ids)) == len(ids)  # one id per event
    for delivery in receiver.deliveries:
        _check(delivery, secret)

    succeeded = receiver.of_type("job.succeeded")[0].payload["data"]
    assert succeeded["id"] == job["id"]
    assert succeeded["status"] == "SUCCEEDED"
    assert succeeded["source"] == "API"
    assert succeeded["costCredits"] == done["costCredits"]
    assert [i["url"] for i in succeeded["images"]] == [i["url"] for i in done["images"]]
    assert succeeded["images"][0]["expiresAt"]
    assert "prompt" not in str(succeeded).lower()
    started = [d.payload["data"] for d in receiver.of_type("job.started")]
    assert {s["status"] for s in started} == {"RUNNING"}
    assert receiver.of_type("job.canceled")[0].payload["data"]["id"] == queued["id"]
    failed = receiver.of_type("job.failed")[0].payload["data"]
    assert (failed["id"], failed["status"]) == (busy["id"], "FAILED")
    assert failed["error"] == "The inference service is unavailable."
    clone_failed = receiver.of_type("clone.failed")[0].payload["data"]
    assert (clone_failed["id"], clone_failed["status"]) == (str(failing.id), "FAILED")
    assert receiver.of_type("clone.ready")[0].payload["data"]["status"] == "READY"
    low = receiver.of_type("credits.low")[0].payload["data"]
    assert low["lowCreditThreshold"] == 99
    assert len(receiver.of_type("credits.low")) == 1  # only when it crosses

    # The delivery log: statuses and timings, never a body.
    # A delivery is marked SUCCEEDED once the receiver's answer is in, just after the
    # receiver saw its body.
    log = await until(
        lambda: deliveries(client, created["endpoint"]["id"], api_key=key),
        lambda rows: {d["status"] for d in rows} == {"SUCCEEDED"},
        within=30,
        what="every delivery marked SUCCEEDED",
    )
    assert all(d["responseStatus"] == 200 and d["attempts"] == 1 for d in log)
    assert all(d["durationMs"] is not None and d["nextAttemptAt"] is None for d in log)
    for row in await WebhookDelivery.all().values():
        assert CANARY not in str(row)


async def test_send_test_webhook_sends_a_signed_test_event(client, receiver):
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["JOB_SUCCEEDED"])
    receiver.secrets = [created["secret"]]
    sent = await client.data(
        "mutation($id: ID!) { sendTestWebhook(id: $id) { __typename "
        "... on WebhookDelivery { eventType status } } }",
        {"id": created["endpoint"]["id"]},
    )
    assert sent["sendTestWebhook"] == {
        "__typename": "WebhookDelivery",
        "eventType": "WEBHOOK_TEST",
        "status": "PENDING",
    }
    (delivery,) = await receiver.wait_for(1)
    payload = _check(delivery, created["secret"])
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpointId"] == created["endpoint"]["id"]


async def test_job_progress_is_opt_in_signed_and_thin(client, receiver, monkeypatch):
    # Steps take milliseconds on an idle machine and a second on a loaded one: a short
    # interval makes the event certain here; the throttle itself is tested below.
    monkeypatch.setattr(progress, "PROGRESS_WEBHOOK_INTERVAL_S", 0.0)
    await sign_up(client)
    key = await create_key(client)
    created = await create_endpoint(client, receiver.url, ["JOB_PROGRESS", "JOB_SUCCEEDED"])
    receiver.secrets = [created["secret"]]
    job = (await client.data(GENERATE, {"input": small_input(steps=8)}, api_key=key))["generate"]
    await wait_done(client, job["id"], key)
    await until(
        lambda: receiver.of_type("job.progress") and receiver.of_type("job.succeeded"),
        within=20,
        what="job.progress and job.succeeded deliveries",
    )
    progress_events = receiver.of_type("job.progress")
    assert progress_events, [d.payload["type"] for d in receiver.deliveries]
    for delivery in progress_events:
        payload = _check(delivery, created["secret"])
        assert payload["data"]["status"] == "RUNNING"
        assert 0 < payload["data"]["step"] <= 8
        assert payload["data"]["totalSteps"] == 8


async def test_job_progress_is_recorded_at_most_once_a_second(client, receiver):
    from neurall.bus.events import MemoryEventBus
    from neurall.orm.jobs import Job, JobSource, JobStatus

    await sign_up(client)
    await create_endpoint(client, receiver.url, ["JOB_PROGRESS"])
    account_id = (await client.data("{ me { id } }"))["me"]["id"]
    job = await Job.create(
        account_id=account_id,
        source=JobSource.API,
        status=JobStatus.RUNNING,
        total_steps=1000,
        num_images=1,
        seq=2,
    )
    reporter = progress.ProgressReporter(job, MemoryEventBus(), write_interval_s=60, seed=1)
    began = time.monotonic()
    step = 0
    while time.monotonic() - began < 2.5:  # about 2.5 s of very fast steps
        step += 1
        await reporter.step(step)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)  # the background recordings
    recorded = await WebhookDelivery.filter(event_type="JOB_PROGRESS").count()
    assert 1 <= recorded <= 3, (recorded, step)
