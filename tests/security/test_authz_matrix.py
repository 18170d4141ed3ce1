"""Authorization matrix: every root field, every kind of caller, two accounts.

Data-driven: each ROW is (field, document, variables, expected outcome per caller). A
later issue that adds a field adds a row; ``test_every_root_field_has_a_row`` fails until
it does. Outcomes: "ok" (data came back), "null", "false", or an error code, taken from
the union member's ``code`` or a top-level error's ``extensions.code``. Variables may
name "{other_key}": an API key id of the OTHER account, which must look nonexistent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neurall.app import SERVICES
from neurall.config import Settings
from neurall.graphql.schema import build_schema
from neurall.orm.clones import Clone
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.orm.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.support.clones import clone_events
from tests.support.events import ws_stream
from tests.support.factories import create_key, ready_clone_row, sign_up

pytestmark = [pytest.mark.usefixtures("database_url"), pytest.mark.slow]

CALLERS = ("anonymous", "session", "key:GENERATE", "key:READ", "key:CLONE")
NA, FB, NF = "NOT_AUTHENTICATED", "FORBIDDEN", "NOT_FOUND"
U = "... on UserError { code }"
RANDOM_ID = str(uuid.UUID(int=1))
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"b's image" * 10


def by_caller(expected: dict[str, str]) -> dict[str, str]:
    """``same(...)``'s keyword names (key_generate) turned into CALLERS (key:GENERATE)."""
    return {c: expected[c.replace("key:", "key_").lower()] for c in CALLERS}


def row(field, document, variables=None, **expected):  # type: ignore[no-untyped-def]
    return pytest.param(field, document, variables or {}, by_caller(expected), id=f"{field}")


def same(outcome_anon, outcome_session, generate, read, clone):  # type: ignore[no-untyped-def]
    return {
        "anonymous": outcome_anon,
        "session": outcome_session,
        "key_generate": generate,
        "key_read": read,
        "key_clone": clone,
    }


ROWS = [
    row("me", "{ me { id } }", **same("null", "ok", FB, "ok", FB)),
    row("apiKeys", "{ apiKeys { id } }", **same(NA, "ok", FB, FB, FB)),
    row(
        "createApiKey",
        f'mutation {{ createApiKey(name: "x") {{ __typename {U} }} }}',
        **same(NA, "ok", FB, FB, FB),
    ),
    row(
        "revokeApiKey",
        f"mutation($id: ID!) {{ revokeApiKey(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_key}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "regenerateApiKey",
        f"mutation($id: ID!) {{ regenerateApiKey(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_key}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "updateProfile",
        f'mutation {{ updateProfile(input: {{name: "n"}}) {{ __typename {U} }} }}',
        **same(NA, "ok", NA, NA, NA),
    ),
    row(
        "setMarketingOptIn",
        f"mutation {{ setMarketingOptIn(optIn: false) {{ __typename {U} }} }}",
        **same(NA, "ok", NA, NA, NA),
    ),
    # A wrong current password on purpose: the session got past authorization, and the
    # password did not change.
    row(
        "changePassword",
        'mutation { changePassword(currentPassword: "wrong guess!", newPassword: "a new one!") '
        f"{{ __typename {U} }} }}",
        **same(NA, "INVALID_INPUT", NA, NA, NA),
    ),
    row("logOut", "mutation { logOut }", **same("false", "ok", "false", "false", "false")),
    row(
        "job",
        "query($id: ID!) { job(id: $id) { id } }",
        {"id": "{other_job}"},
        **same(NA, "null", "null", FB, FB),
    ),
    row("jobs", "{ jobs { edges { cursor } } }", **same(NA, "ok", "ok", FB, FB)),
    row("estimateCost", '{ estimateCost(input: {prompt: "p"}) }', **same(NA, "ok", "ok", FB, FB)),
    # The catalog is public: anyone, with any key, may read it.
    row("models", "{ models { id } }", **same("ok", "ok", "ok", "ok", "ok")),
    row("model", '{ model(id: "tiny-sd") { id } }', **same("ok", "ok", "ok", "ok", "ok")),
    # Public prices: the playground shows them before anyone signs in or clicks.
    row("creditPrice", "{ creditPrice { available } }", **same("ok", "ok", "ok", "ok", "ok")),
    row(
        "estimateCloneCost",
        "{ estimateCloneCost(images: 3) }",
        **same("ok", "ok", "ok", "ok", "ok"),
    ),
    # Invalid input on purpose: it proves the caller got past authorization, and no job runs.
    row(
        "generate",
        f'mutation {{ generate(input: {{prompt: "p", width: 7}}) {{ __typename {U} }} }}',
        **same(NA, "INVALID_INPUT", "INVALID_INPUT", FB, FB),
    ),
    # B's clone among the adapters: refused as not one of the caller's ready clones.
    row(
        "generate",
        'mutation($id: ID!) { generate(input: {prompt: "p", adapters: [{cloneId: $id}]}) '
        f"{{ __typename {U} }} }}",
        {"id": "{other_clone}"},
        **same(NA, "INVALID_INPUT", "INVALID_INPUT", FB, FB),
    ),
    row(
        "cancelJob",
        f"mutation($id: ID!) {{ cancelJob(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_job}"},
        **same(NA, NF, NF, FB, FB),
    ),
    row("creditLedger", "{ creditLedger { edges { cursor } } }", **same(NA, "ok", FB, "ok", FB)),
    row(
        "createCheckout",
        f"mutation {{ createCheckout(credits: 500) {{ __typename {U} }} }}",
        **same(NA, "BILLING_UNAVAILABLE", NA, NA, NA),
    ),
    # Clones: read with READ or CLONE, change with CLONE; B's clone looks nonexistent.
    row("clones", "{ clones { id } }", **same(NA, "ok", FB, "ok", "ok")),
    row(
        "clone",
        "query($id: ID!) { clone(id: $id) { id } }",
        {"id": "{other_clone}"},
        **same(NA, "null", FB, "null", "null"),
    ),
    # No photos on purpose (JSON, not multipart): past authorization it is INVALID_INPUT.
    row(
        "createClone",
        f'mutation {{ createClone(input: {{name: "x"}}, images: []) {{ __typename {U} }} }}',
        **same(NA, "INVALID_INPUT", FB, FB, "INVALID_INPUT"),
    ),
    row(
        "deleteClone",
        f"mutation($id: ID!) {{ deleteClone(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_clone}"},
        **same(NA, NF, FB, FB, NF),
    ),
    # Privacy: history and account data are the signed-in person's; usage is READ.
    row("history", "{ history { edges { cursor } } }", **same(NA, "ok", FB, FB, FB)),
    row(
        "deleteHistoryItem",
        f"mutation($id: ID!) {{ deleteHistoryItem(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_job}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "clearHistory",
        f"mutation {{ clearHistory {{ __typename {U} }} }}",
        **same(NA, "ok", FB, FB, FB),
    ),
    row(
        "usage",
        "query($since: DateTime!) { usage(since: $since) { day } }",
        {"since": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
        **same(NA, "ok", FB, "ok", FB),
    ),
    row(
        "dataExport",
        f'{{ dataExport(id: "{RANDOM_ID}") {{ id }} }}',
        **same(NA, "null", NA, NA, NA),
    ),
    row(
        "requestDataExport",
        f"mutation {{ requestDataExport {{ __typename {U} }} }}",
        **same(NA, "ok", NA, NA, NA),
    ),
    # Spend limits are account management: sessions only; B's key looks nonexistent.
    row(
        "setApiKeySpendLimit",
        "mutation($id: ID!) { setApiKeySpendLimit(id: $id, limit: {credits: 1}) "
        f"{{ __typename {U} }} }}",
        {"id": "{other_key}"},
        **same(NA, NF, FB, FB, FB),
    ),
    # Webhooks: a session or a WEBHOOKS key (none of the keys here has it); B's endpoint
    # and delivery look nonexistent.
    row("webhookEndpoints", "{ webhookEndpoints { id } }", **same(NA, "ok", FB, FB, FB)),
    row(
        "webhookDeliveries",
        "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { cursor } } }",
        {"id": "{other_endpoint}"},
        **same(NA, NF, FB, FB, FB),
    ),
    # An http:// URL on purpose (refused outside development): past authorization.
    row(
        "createWebhookEndpoint",
        'mutation { createWebhookEndpoint(input: {url: "http://hooks.example", '
        f"events: [JOB_FAILED]}}) {{ __typename {U} }} }}",
        **same(NA, "INVALID_INPUT", FB, FB, FB),
    ),
    row(
        "updateWebhookEndpoint",
        "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) "
        f"{{ __typename {U} }} }}",
        {"id": "{other_endpoint}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "deleteWebhookEndpoint",
        f"mutation($id: ID!) {{ deleteWebhookEndpoint(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_endpoint}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "rotateWebhookSecret",
        f"mutation($id: ID!) {{ rotateWebhookSecret(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_endpoint}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "sendTestWebhook",
        f"mutation($id: ID!) {{ sendTestWebhook(id: $id) {{ __typename {U} }} }}",
        {"id": "{other_endpoint}"},
        **same(NA, NF, FB, FB, FB),
    ),
    row(
        "redeliverWebhook",
        f"mutation($id: ID!) {{ redeliverWebhook(deliveryId: $id) {{ __typename {U} }} }}",
        {"id": "{other_delivery}"},
        **same(NA, NF, FB, FB, FB),
    ),
    # A wrong password on purpose: past authorization, and nothing is erased.
    row(
        "deleteAccount",
        f'mutation {{ deleteAccount(password: "not the password") {{ __typename {U} }} }}',
        **same(NA, "INVALID_INPUT", NA, NA, NA),
    ),
    row(
        "setEmailNotice",
        f"mutation {{ setEmailNotice(notice: CLONES, enabled: false) {{ __typename {U} }} }}",
        **same(NA, "ok", NA, NA, NA),
    ),
    row(
        "requestEmailVerification",
        f"mutation {{ requestEmailVerification {{ __typename {U} }} }}",
        **same(NA, "ok", NA, NA, NA),
    ),
    # The token is the credential: a bad one is refused whoever calls.
    row(
        "verifyEmail",
        f'mutation {{ verifyEmail(token: "forged") {{ __typename {U} }} }}',
        **same(*["INVALID_INPUT"] * 5),
    ),
    row(
        "resetPassword",
        f'mutation {{ resetPassword(token: "forged", newPassword: "a new password") '
        f"{{ __typename {U} }} }}",
        **same(*["INVALID_INPUT"] * 5),
    ),
]
# Public by design (anyone may try; per-IP throttles apply).
NOT_IN_MATRIX = {"signUp", "logIn", "requestPasswordReset"}
# Subscriptions, checked over real websockets below with the same callers.
SUBSCRIPTIONS = {
    "jobEvents": by_caller(same(NA, NF, NF, FB, FB)),
    "cloneEvents": by_caller(same(NA, NF, FB, NF, NF)),
}


def _outcome(field: str, body: dict[str, Any]) -> str:
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code:
            return code
    if body.get("errors"):
        return "error:" + body["errors"][0]["message"]
    value = (body.get("data") or {}).get(field)
    if value is None:
        return "null"
    if value is False:
        return "false"
    if isinstance(value, dict) and "code" in value:
        return value["code"]
    return "ok"


async def _world(client: Any) -> dict[str, Any]:
    """Account B with a key, a finished job and its stored image (what A must not reach);
    then A signed in, with keys."""
    b = await sign_up(client, email="b@example.com")
    b_key = await create_key(client, name="b-key")
    keys = (await client.data("{ apiKeys { id } }"))["apiKeys"]
    job, image = await _finished_job(client, b["id"])
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="a@example.com")
    world = {"other_key": keys[0]["id"], "other_job": job, "other_image": image, "b_key": b_key}
    world["other_clone"] = str((await _ready_clone(b["id"])).id)
    world["other_endpoint"], world["other_delivery"] = await _webhook_endpoint(b["id"])
    for scope in ("GENERATE", "READ", "CLONE"):
        world[f"key:{scope}"] = await create_key(client, [scope], name=scope)
    return world


async def _finished_job(client: Any, account_id: str) -> tuple[str, str]:
    """A succeeded playground job of ``account_id`` with one image file in storage."""
    job = await Job.create(
        account_id=account_id,
        source=JobSource.PLAYGROUND,
        status=JobStatus.SUCCEEDED,
        params={"prompt": "b's private prompt"},
        total_steps=1,
        num_images=1,
        step=1,
        seq=3,
    )
    key = f"images/{job.id}/0.png"
    image = await JobImage.create(
        job_id=job.id, index=0, storage_key=key, width=8, height=8, seed=1
    )
    storage = client.http.server.app[SERVICES].generation.storage
    await storage.put(key, PNG_BYTES)
    return str(job.id), str(image.id)


async def _ready_clone(account_id: str) -> Clone:
    """A trained clone of ``account_id`` (the row is enough: nothing here reads weights)."""
    return await ready_clone_row(
        account_id, name="b's clone", trigger_word="bclone", adapter_key="missing.safetensors"
    )


async def _webhook_endpoint(account_id: str) -> tuple[str, str]:
    """An endpoint of ``account_id`` with one delivery in its log (already delivered)."""
    endpoint = await WebhookEndpoint.create(
        account_id=account_id,
        url="https://b.example/hook",
        events="JOB_FAILED",
        secret="whsec_" + "b" * 32,
    )
    delivery = await WebhookDelivery.create(
        endpoint_id=endpoint.id,
        account_id=account_id,
        event_id="msg_b",
        event_type="JOB_FAILED",
        occurred_at=datetime.now(UTC),
        status=DeliveryStatus.SUCCEEDED,
    )
    return str(endpoint.id), str(delivery.id)


def _as(client: Any, world: dict[str, Any], caller: str, cookies: list[Any]) -> str | None:
    """Set the client up as ``caller``; returns the API key to send, if any."""
    client.http.session.cookie_jar.clear()
    if caller == "session":
        for cookie in cookies:
            client.http.session.cookie_jar.update_cookies({cookie.key: cookie.value})
    return world[caller] if caller.startswith("key:") else None


def _socket_auth(
    client: Any, world: dict[str, Any], caller: str, cookies: list[Any]
) -> tuple[str | None, str | None]:
    """``_as`` for a websocket handshake: the API key, and the Cookie header if any."""
    api_key = _as(client, world, caller, cookies)
    cookie = "; ".join(f"{c.key}={c.value}" for c in client.http.session.cookie_jar)
    return api_key, cookie or None


@pytest.mark.parametrize(("field", "document", "variables", "expected"), ROWS)
async def test_matrix(client, field, document, variables, expected):
    world = await _world(client)
    cookies = list(client.http.session.cookie_jar)
    got = {}
    for caller in CALLERS:
        api_key = _as(client, world, caller, cookies)
        values = {k: world[v[1:-1]] if v.startswith("{") else v for k, v in variables.items()}
        got[caller] = _outcome(field, await client.post(document, values, api_key=api_key))
    assert got == expected


async def test_job_events_of_another_account(client):
    world = await _world(client)
    cookies = list(client.http.session.cookie_jar)
    got = {}
    for caller in CALLERS:
        api_key, cookie = _socket_auth(client, world, caller, cookies)
        stream = ws_stream(str(client.port_url("")), api_key=api_key, cookie=cookie)
        await stream.open(world["other_job"])
        try:
            message = await stream.next(within=10)
        finally:
            await stream.close()
        assert "event" not in message, message  # nothing about B's job leaks
        got[caller] = message["errors"][0]["extensions"]["code"]
    assert got == SUBSCRIPTIONS["jobEvents"]


async def test_clone_events_of_another_account(client):
    world = await _world(client)
    cookies = list(client.http.session.cookie_jar)
    got = {}
    for caller in CALLERS:
        api_key, cookie = _socket_auth(client, world, caller, cookies)
        base = str(client.port_url("")).rstrip("/")
        messages = await clone_events(base, world["other_clone"], api_key, 10, cookie)
        assert len(messages) == 1, messages  # nothing about B's clone leaks
        got[caller] = messages[0]["errors"][0]["extensions"]["code"]
    assert got == SUBSCRIPTIONS["cloneEvents"]


ADAPTERS_DOCUMENT = """mutation($id: ID!, $mine: ID!) {
  generate(input: {prompt: "p", adapters: [{cloneId: $mine, weight: 0.5}, {cloneId: $id}]}) {
    __typename ... on UserError { code message } ... on InvalidInput { fields }
  }
}"""


async def test_another_accounts_clone_in_adapters_answers_like_a_missing_one(client):
    world = await _world(client)
    cookies = list(client.http.session.cookie_jar)
    me = (await client.data("{ me { id } }"))["me"]["id"]
    mine = str((await ready_clone_row(me, name="a's", trigger_word="a", adapter_key="a")).id)
    for caller in ("session", "key:GENERATE"):
        api_key = _as(client, world, caller, cookies)
        answers = [
            await client.post(ADAPTERS_DOCUMENT, {"id": clone, "mine": mine}, api_key=api_key)
            for clone in (world["other_clone"], RANDOM_ID)
        ]
        assert answers[0] == answers[1], caller
        assert answers[0]["data"]["generate"]["fields"] == ["input.adapters.1.cloneId"]
    assert not await Job.filter(account_id=me).exists()


async def test_image_urls_of_another_account(client):
    world = await _world(client)
    url = f"/images/{world['other_image']}"
    # The owner gets it (so the 404s below come from authorization, not a missing file).
    owner = await client.http.get(url, headers={"Authorization": f"Bearer {world['b_key']}"})
    assert owner.status == 200
    assert await owner.read() == PNG_BYTES
    cookies = list(client.http.session.cookie_jar)
    for caller in CALLERS:
        api_key = _as(client, world, caller, cookies)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        response = await client.http.get(url, headers=headers)
        assert response.status == 404, caller
        assert await response.text() == "not found"


def test_every_root_field_has_a_row():
    schema = build_schema(Settings())._schema
    fields = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            fields.update(root.fields)
    covered = {p.values[0] for p in ROWS} | NOT_IN_MATRIX | set(SUBSCRIPTIONS)
    assert fields - covered == set(), "add authorization rows for these fields"
