"""Websocket hardening in NeurallGraphQLView: protocol, init timeout, Origin, limits."""

from __future__ import annotations

import aiohttp
import pytest

from neurall.orm.jobs import Job, JobSource, JobStatus
from tests.support.factories import create_key, sign_up

PROTOCOL = "graphql-transport-ws"
EVIL = "https://evil.example"
TRUSTED = "https://app.example.com"
EVENTS = "subscription($id: ID!) { jobEvents(jobId: $id) { seq type } }"


async def _connect(client, origin=None, protocols=(PROTOCOL,)):
    headers = {"Origin": origin} if origin else {}
    return await client.http.ws_connect("/graphql", protocols=protocols, headers=headers)


async def _init(ws, payload=None):
    await ws.send_json({"type": "connection_init", "payload": payload or {}})
    message = await ws.receive_json(timeout=10)
    assert message["type"] == "connection_ack", message


async def test_cookie_socket_from_untrusted_origin_is_refused(make_client):
    client = await make_client(cors_origins=TRUSTED)
    await sign_up(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _connect(client, origin=EVIL)
    assert refused.value.status == 403


async def test_socket_from_trusted_or_same_origin_or_no_origin_is_accepted(make_client):
    client = await make_client(cors_origins=TRUSTED)
    await sign_up(client)
    for origin in (TRUSTED, str(client.port_url("")).rstrip("/"), None):
        ws = await _connect(client, origin=origin)
        await _init(ws)
        await ws.close()


async def test_untrusted_origin_cannot_use_an_api_key_either(make_client):
    # Refusing by Origin alone keeps one rule for browsers; key holders connect from
    # servers (no Origin) or from an allowlisted front-end.
    client = await make_client()
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await _connect(client, origin=EVIL)


async def test_legacy_graphql_ws_protocol_is_not_offered(make_client):
    client = await make_client()
    ws = await _connect(client, protocols=("graphql-ws",))
    assert ws.protocol is None
    message = await ws.receive(timeout=10)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4406


async def test_connection_init_must_come_within_the_timeout(make_client):
    client = await make_client(ws_connection_init_timeout_s=1)
    ws = await _connect(client)
    message = await ws.receive(timeout=10)  # nothing sent: the server gives up
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4408


async def test_oversized_messages_close_the_socket(make_client):
    client = await make_client(ws_max_message_bytes=1024)
    ws = await _connect(client)
    await _init(ws)
    await ws.send_str('{"type":"ping","payload":{"x":"' + "x" * 2048 + '"}}')
    message = await ws.receive(timeout=10)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_subscriptions_per_connection_are_capped(make_client):
    client = await make_client(ws_max_subscriptions=2)
    account = await sign_up(client)
    key = await create_key(client, ["GENERATE"])
    # A job that stays RUNNING (no worker owns it), so each subscription stays open.
    job = await Job.create(
        account_id=account["id"],
        source=JobSource.API,
        status=JobStatus.RUNNING,
        total_steps=20,
        num_images=1,
        seq=1,  # the snapshot is sent only when seq > afterSeq (0)
    )
    ws = await _connect(client)
    await _init(ws, {"authorization": f"Bearer {key}"})
    for n in range(3):
        await ws.send_json(
            {
                "id": str(n),
                "type": "subscribe",
                "payload": {"query": EVENTS, "variables": {"id": str(job.id)}},
            }
        )
    replies = {}
    while len(replies) < 3:
        message = await ws.receive_json(timeout=10)
        replies.setdefault(message["id"], message)
    assert replies["0"]["type"] == "next"
    assert replies["1"]["type"] == "next"
    assert replies["2"]["type"] == "error"
    assert "limit" in replies["2"]["payload"][0]["message"].lower()
    await ws.close()
