"""RateLimit-Limit / -Remaining / -Reset on every authenticated answer (the IETF RateLimit
header fields draft), and the bad-Origin websocket hint that names the real setting."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest

from neurall.ratelimit import TokenBuckets
from tests.support.factories import create_key, sign_up

ME = "{ me { id } }"


async def _me(client, **headers):
    return await client.http.post(
        "/graphql",
        data=json.dumps({"query": ME}),
        headers={"Content-Type": "application/json", **headers},
    )


@pytest.mark.parametrize("backend", ["memory", "database"])
async def test_headers_report_the_tighter_bucket(make_client, backend):
    client = await make_client(
        rate_limit_backend=backend,
        requests_per_minute_per_api_key=5,
        requests_per_minute_per_account=50,
    )
    await sign_up(client)
    key = await create_key(client)
    session = await _me(client)  # a session: the account bucket only
    assert session.headers["RateLimit-Limit"] == "50"
    assert int(session.headers["RateLimit-Remaining"]) < 50

    seen = []
    for _ in range(5):
        response = await _me(client, Authorization=f"Bearer {key}")
        assert response.status == 200
        seen.append(int(response.headers["RateLimit-Remaining"]))
        assert response.headers["RateLimit-Limit"] == "5"  # the key's bucket is tighter
        assert 0 < int(response.headers["RateLimit-Reset"]) <= 60
    assert seen == [4, 3, 2, 1, 0]
    refused = await _me(client, Authorization=f"Bearer {key}")
    assert (await refused.json())["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) >= 1


async def test_anonymous_answers_carry_no_ratelimit_headers(make_client):
    client = await make_client()
    assert "RateLimit-Limit" not in (await _me(client)).headers


def test_take_returns_the_tokens_left():
    buckets = TokenBuckets(3, 60, clock=lambda: 0.0)
    assert [buckets.take("k") for _ in range(3)] == [2.0, 1.0, 0.0]


async def test_a_refused_websocket_origin_names_neurall_cors_origins(make_client, caplog):
    client = await make_client()
    caplog.set_level(logging.WARNING)
    url = client.port_url("/graphql", "ws")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                url, protocols=["graphql-transport-ws"], headers={"Origin": "https://evil.example"}
            )
    assert refused.value.status == 403
    assert "NEURALL_CORS_ORIGINS" in caplog.text
    assert "allowed_origins" not in caplog.text
