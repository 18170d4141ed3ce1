"""The progress path in embedded mode, over a real graphql-transport-ws socket: POSITION
events as the queue moves, PREVIEW events with a data: URL, seq order across the coalesced
per-step writes, and jobs accepted before `neurall serve` stopped finishing after a restart."""

from __future__ import annotations

import base64

import pytest
from aiohttp.test_utils import TestClient, TestServer

from neurall.app import create_app
from neurall.config import Settings
from tests.support.events import check_progress, png_size, ws_stream
from tests.support.factories import create_key, generate, sign_up
from tests.support.graphql import CANCEL, EVENTS_WITH_PREVIEW, JOB, ME, GraphQLClient, base
from tests.support.jobs import wait_status
from tests.support.runtime import generation_settings

pytestmark = [pytest.mark.usefixtures("database_url"), pytest.mark.slow]


@pytest.fixture
def settings(tmp_path, database_url, tiny_models) -> Settings:
    # A preview every 2 denoising steps.
    return generation_settings(tmp_path / "data", database_url, tiny_models, preview_every_steps=2)


async def test_position_events_follow_the_queue(client):
    await sign_up(client)
    key = await create_key(client)
    running = await generate(client, key, steps=60, width=72, height=64)  # the one worker
    ahead = await generate(client, key)
    last = await generate(client, key, seed=8)
    stream = await ws_stream(base(client), api_key=key).open(last["id"])
    try:
        first = (await stream.next())["event"]
        assert first["type"] in ("QUEUED", "POSITION")
        assert first["queuePosition"] == 1  # `ahead` waits before it
        # A job ahead of it leaves the queue: a POSITION event says it moved up.
        await client.data(CANCEL, {"id": ahead["id"]}, api_key=key)
        moved = (await stream.next())["event"]
        assert (moved["type"], moved["queuePosition"], moved["status"]) == ("POSITION", 0, "QUEUED")
        assert moved["seq"] > first["seq"]
        # The running job ends: this one starts and runs to the end.
        await client.data(CANCEL, {"id": running["id"]}, api_key=key)
        rest = await stream.until_end()
    finally:
        await stream.close()
    events = [first, moved, *rest]
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    assert "STARTED" in [e["type"] for e in rest]
    assert all(e["queuePosition"] is None for e in rest if e["status"] != "QUEUED")
    check_progress(events, 4)


async def test_preview_events_carry_a_small_png(client):
    await sign_up(client)
    key = await create_key(client)
    job = await generate(client, key, steps=4, width=64, height=96)
    stream = await ws_stream(base(client), api_key=key).open(job["id"], query=EVENTS_WITH_PREVIEW)
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    previews = [e for e in events if e["type"] == "PREVIEW"]
    # Subscribed while QUEUED or RUNNING: at least the preview of the last step arrives.
    assert previews
    assert [p["step"] for p in previews] in ([2, 4], [4])
    for event in previews:
        preview = event["preview"]
        assert event["status"] == "RUNNING"
        assert preview["contentType"] == "image/png"
        assert preview["expiresAt"] is None
        assert preview["url"].startswith("data:image/png;base64,")
        png = base64.b64decode(preview["url"].split(",", 1)[1])
        # Latent resolution: 1/8 of the image.
        assert png_size(png) == (preview["width"], preview["height"]) == (8, 12)
    assert all(e["preview"] is None for e in events if e["type"] != "PREVIEW")
    assert events[-1]["type"] == "SUCCEEDED"


async def test_no_previews_when_turned_off(tmp_path, database_url, tiny_models, aiohttp_client):
    settings = generation_settings(
        tmp_path / "off", database_url, tiny_models, preview_every_steps=0
    )
    client = GraphQLClient(await aiohttp_client(create_app(settings)))
    await sign_up(client)
    key = await create_key(client)
    job = await generate(client, key, steps=3)
    stream = await ws_stream(base(client), api_key=key).open(job["id"], query=EVENTS_WITH_PREVIEW)
    try:
        events = await stream.until_end()
    finally:
        await stream.close()
    assert not [e for e in events if e["type"] == "PREVIEW"]
    assert events[-1]["type"] == "SUCCEEDED"


async def test_jobs_accepted_before_a_restart_finish_after_it(settings: Settings):
    """`neurall serve` stops with one job RUNNING and one QUEUED (playground jobs: their
    request is in the database); the next start queues both again and both finish once."""
    first = GraphQLClient(TestClient(TestServer(create_app(settings))))
    await first.http.start_server()
    try:
        account = await sign_up(first)
        cookies = {c.key: c.value for c in first.http.session.cookie_jar}
        running = await generate(first, steps=60, width=72, height=64)
        queued = await generate(first, seed=11)
        await wait_status(first, running["id"], "RUNNING")
        assert (await first.data(JOB, {"id": queued["id"]}))["job"]["status"] == "QUEUED"
    finally:
        await first.http.close()  # the app's cleanup stops the worker mid-job

    second = GraphQLClient(TestClient(TestServer(create_app(settings))))
    await second.http.start_server()
    try:
        second.http.session.cookie_jar.update_cookies(cookies, second.http.make_url("/"))
        done = [await wait_status(second, j["id"], "SUCCEEDED") for j in (running, queued)]
        me = (await second.data(ME))["me"]
    finally:
        await second.http.close()
    held = running["heldCredits"] + queued["heldCredits"]
    assert [d["costCredits"] for d in done] == [running["heldCredits"], queued["heldCredits"]]
    assert me == {"credits": account["credits"] - held, "heldCredits": 0}
    assert [len(d["images"]) for d in done] == [1, 1]
