"""API keys: shown once, stored hashed, scoped, revocable at once, usable over websockets."""

from __future__ import annotations

import json

import pytest
import websockets

from neurall.accounts.tokens import looks_like_api_key
from neurall.orm.accounts import ApiKey
from tests.support.factories import create_key, sign_up
from tests.support.files import database_bytes
from tests.support.graphql import CREATE_KEY

pytestmark = pytest.mark.usefixtures("database_url")

LIST_KEYS = "{ apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }"
REVOKE = """
mutation($id: ID!) {
  revokeApiKey(id: $id) { __typename ... on ApiKey { id revokedAt } ... on UserError { code } }
}
"""
REGENERATE = """
mutation($id: ID!) {
  regenerateApiKey(id: $id) {
    __typename
    ... on CreatedApiKey { secret apiKey { id name scopes } }
    ... on UserError { code }
  }
}
"""
ME = "{ me { email } }"


async def _key_id(client, secret: str) -> str:
    keys = (await client.data(LIST_KEYS))["apiKeys"]
    return next(k["id"] for k in keys if secret.startswith(k["prefix"]))


async def test_created_key_has_the_documented_format_and_default_scopes(client):
    await sign_up(client)
    data = await client.data(CREATE_KEY, {"name": " ci ", "scopes": None})
    created = data["createApiKey"]
    secret = created["secret"]
    assert secret.startswith("nk_")
    assert looks_like_api_key(secret)
    assert not looks_like_api_key(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert not looks_like_api_key(secret[:-2] + "éé")
    assert created["apiKey"]["name"] == "ci"
    assert sorted(created["apiKey"]["scopes"]) == ["CLONE", "GENERATE", "READ"]
    assert secret.startswith(created["apiKey"]["prefix"])
    assert len(created["apiKey"]["prefix"]) < len(secret) // 4


async def test_secret_is_shown_once_and_stored_only_as_a_hash(client, settings):
    await sign_up(client)
    secret = await create_key(client)
    listed = (await client.data(LIST_KEYS))["apiKeys"]
    assert secret not in json.dumps(listed)
    stored = await ApiKey.get()
    assert stored.key_hash != secret
    assert secret not in stored.key_hash
    places = database_bytes(settings.database_url)
    assert [where for where, data in places.items() if secret.encode() in data] == []


async def test_key_authenticates_http_requests_and_records_last_use(client):
    await sign_up(client, email="ada@example.com")
    secret = await create_key(client)
    client.http.session.cookie_jar.clear()
    assert (await client.data(ME, api_key=secret))["me"]["email"] == "ada@example.com"
    stored = await ApiKey.get()
    assert stored.last_used_at is not None


async def test_bad_key_is_not_authenticated_even_with_a_cookie(client):
    await sign_up(client)
    body = await client.post(ME, api_key="nk_not-a-real-key")
    assert body["data"]["me"] is None
    # Of a key's length, ending in characters a checksum never has: not an error either.
    body = await client.post(ME, api_key=(await create_key(client))[:-2] + "éé")
    assert body["data"]["me"] is None


async def test_revoked_key_fails_on_the_very_next_request(client):
    await sign_up(client)
    secret = await create_key(client)
    assert (await client.data(ME, api_key=secret))["me"] is not None
    key_id = await _key_id(client, secret)
    data = await client.data(REVOKE, {"id": key_id})
    assert data["revokeApiKey"]["__typename"] == "ApiKey"
    assert data["revokeApiKey"]["revokedAt"] is not None
    assert (await client.data(ME, api_key=secret))["me"] is None


CANCEL = """
mutation { cancelJob(id: "1") { __typename ... on UserError { message } } }
"""


async def test_a_revoked_key_is_told_so_and_an_unknown_one_is_not(client):
    await sign_up(client)
    secret = await create_key(client)
    await client.data(REVOKE, {"id": await _key_id(client, secret)})
    revoked = (await client.data(CANCEL, api_key=secret))["cancelJob"]
    assert revoked == {
        "__typename": "NotAuthenticated",
        "message": "This API key was revoked. Create a new one on the API keys page.",
    }
    body = await client.post(ME, api_key=secret)
    assert body["data"]["me"] is None
    # A key nobody holds gets the general sentence: nothing is said about other keys.
    unknown = secret[:-1] + ("a" if secret[-1] != "a" else "b")
    answer = (await client.data(CANCEL, api_key=unknown))["cancelJob"]
    assert answer == {"__typename": "NotAuthenticated", "message": "Sign in or send an API key."}


async def test_regenerate_replaces_the_key_with_same_name_and_scopes(client):
    await sign_up(client)
    old = await create_key(client, scopes=["READ"], name="reporting")
    key_id = await _key_id(client, old)
    data = await client.data(REGENERATE, {"id": key_id})
    created = data["regenerateApiKey"]
    assert created["__typename"] == "CreatedApiKey"
    assert created["apiKey"]["name"] == "reporting"
    assert created["apiKey"]["scopes"] == ["READ"]
    assert created["apiKey"]["id"] != key_id
    assert (await client.data(ME, api_key=old))["me"] is None
    assert (await client.data(ME, api_key=created["secret"]))["me"] is not None
    # The revoked one cannot be regenerated again.
    again = await client.data(REGENERATE, {"id": key_id})
    assert again["regenerateApiKey"]["__typename"] == "NotFound"


async def test_scopes_are_enforced(client):
    await sign_up(client)
    generate_only = await create_key(client, scopes=["GENERATE"])
    read_only = await create_key(client, scopes=["READ"])
    body = await client.post(ME, api_key=generate_only)
    assert body["data"]["me"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await client.data(ME, api_key=read_only))["me"] is not None


async def test_key_management_is_refused_to_a_key(client):
    await sign_up(client)
    secret = await create_key(client)
    key_id = await _key_id(client, secret)
    data = await client.data(CREATE_KEY, {"name": "x"}, api_key=secret)
    assert data["createApiKey"]["__typename"] == "Forbidden"
    assert (await client.data(REVOKE, {"id": key_id}, api_key=secret))["revokeApiKey"][
        "__typename"
    ] == "Forbidden"
    assert (await client.data(REGENERATE, {"id": key_id}, api_key=secret))["regenerateApiKey"][
        "__typename"
    ] == "Forbidden"
    body = await client.post(LIST_KEYS, api_key=secret)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Profile changes need a session too.
    profile = await client.data(
        'mutation { updateProfile(input: {name: "x"}) { __typename } }', api_key=secret
    )
    assert profile["updateProfile"]["__typename"] == "NotAuthenticated"


async def test_key_management_needs_authentication(client):
    data = await client.data(CREATE_KEY, {"name": "x"})
    assert data["createApiKey"]["__typename"] == "NotAuthenticated"
    body = await client.post(LIST_KEYS)
    assert body["errors"][0]["extensions"]["code"] == "NOT_AUTHENTICATED"


async def test_another_accounts_key_is_not_found(client):
    await sign_up(client, email="ada@example.com")
    secret = await create_key(client)
    key_id = await _key_id(client, secret)
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="bob@example.com")
    for query, field in [(REVOKE, "revokeApiKey"), (REGENERATE, "regenerateApiKey")]:
        data = await client.data(query, {"id": key_id})
        assert data[field]["__typename"] == "NotFound"
    assert (await client.data(ME, api_key=secret))["me"]["email"] == "ada@example.com"
    assert (await client.data(REVOKE, {"id": "not-a-uuid"}))["revokeApiKey"][
        "__typename"
    ] == "NotFound"


@pytest.mark.parametrize(
    ("name", "scopes"), [("", None), ("x" * 101, None), ("ok", [])], ids=["empty", "long", "none"]
)
async def test_bad_key_input_is_rejected(client, name, scopes):
    await sign_up(client)
    data = await client.data(CREATE_KEY, {"name": name, "scopes": scopes})
    assert data["createApiKey"]["__typename"] == "InvalidInput"
    assert await ApiKey.all().count() == 0


async def _ws_operation(url: str, payload: dict, query: str) -> list[dict]:
    """Speak graphql-transport-ws: init, one operation, collect messages until complete."""
    messages = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        while True:
            message = json.loads(await ws.recv())
            messages.append(message)
            if message["type"] in {"complete", "error"}:
                return messages


async def test_websocket_authenticated_with_a_key(client):
    await sign_up(client, email="ada@example.com")
    secret = await create_key(client)
    url = str(client.port_url("/graphql", scheme="ws"))
    messages = await _ws_operation(url, {"authorization": f"Bearer {secret}"}, ME)
    assert messages[0]["payload"]["data"]["me"]["email"] == "ada@example.com"
    anonymous = await _ws_operation(url, {}, ME)
    assert anonymous[0]["payload"]["data"]["me"] is None


async def test_websocket_with_a_bad_key_is_refused(client):
    url = str(client.port_url("/graphql", scheme="ws"))
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer nk_x"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4403


async def test_only_graphql_transport_ws_is_spoken(client):
    url = str(client.port_url("/graphql", scheme="ws"))
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4406  # subprotocol not acceptable
