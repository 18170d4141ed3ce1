"""Body size caps: small for JSON and forms, large only for multipart uploads."""

from __future__ import annotations

import json

from tests.support.factories import create_key, sign_up

LIMIT = 4096


def _document_of(size: int) -> bytes:
    padding = "x" * max(0, size - 40)
    return json.dumps({"query": "{ me { id } }", "variables": {"pad": padding}}).encode()


async def test_json_over_the_cap_is_refused_before_anything_runs(make_client):
    client = await make_client(max_request_body_bytes=LIMIT)
    await sign_up(client)
    key = await create_key(client, ["READ"])
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    small = await client.http.post("/graphql", data=_document_of(LIMIT - 200), headers=headers)
    assert small.status == 200
    assert (await small.json())["data"]["me"] is not None

    large = await client.http.post("/graphql", data=_document_of(LIMIT * 4), headers=headers)
    assert large.status == 413
    assert "larger than" in (await large.json())["errors"][0]["message"]


async def test_chunked_json_without_a_length_is_capped_while_read(make_client):
    client = await make_client(max_request_body_bytes=LIMIT)
    await sign_up(client)
    key = await create_key(client, ["READ"])
    body = _document_of(LIMIT * 4)

    async def chunks():  # no Content-Length: aiohttp sends it chunked
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    response = await client.http.post(
        "/graphql",
        data=chunks(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert response.status == 413


async def test_webhook_bodies_are_capped_too(make_client):
    client = await make_client(max_request_body_bytes=LIMIT)
    response = await client.http.post(
        "/webhooks/stripe", data=b"{" + b" " * (LIMIT * 2) + b"}", headers={"Stripe-Signature": "x"}
    )
    assert response.status == 413
