"""Authorization matrix: every root field, every kind of caller, two accounts.

Data-driven: each ROW is (field, document, variables, expected outcome per caller). A
later issue that adds a field adds a row; ``test_every_root_field_has_a_row`` fails until
it does. Outcomes: "ok" (data came back), "null", "false", or an error code, taken from
the union member's ``code`` or a top-level error's ``extensions.code``. Variables may
name "{other_key}": an API key id of the OTHER account, which must look nonexistent.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from neurall.config import Settings
from neurall.graphql.schema import build_schema
from tests.helpers import create_key, sign_up

pytestmark = pytest.mark.usefixtures("database_url")

CALLERS = ("anonymous", "session", "key:GENERATE", "key:READ", "key:CLONE")
NA, FB, NF = "NOT_AUTHENTICATED", "FORBIDDEN", "NOT_FOUND"
U = "... on UserError { code }"
RANDOM_ID = str(uuid.UUID(int=1))


def row(field, document, variables=None, **expected):  # type: ignore[no-untyped-def]
    outcome = {
        c: expected[
            c.replace("key:", "key_")
            .replace("GENERATE", "generate")
            .replace("READ", "read")
            .replace("CLONE", "clone")
        ]
        for c in CALLERS
    }
    return pytest.param(field, document, variables or {}, outcome, id=f"{field}")


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
    row("logOut", "mutation { logOut }", **same("false", "ok", "false", "false", "false")),
    row("job", f'{{ job(id: "{RANDOM_ID}") {{ id }} }}', **same(NA, "null", "null", FB, FB)),
    row("jobs", "{ jobs { edges { cursor } } }", **same(NA, "ok", "ok", FB, FB)),
    row("estimateCost", '{ estimateCost(input: {prompt: "p"}) }', **same(NA, "ok", "ok", FB, FB)),
    # Invalid input on purpose: it proves the caller got past authorization, and no job runs.
    row(
        "generate",
        f'mutation {{ generate(input: {{prompt: "p", width: 7}}) {{ __typename {U} }} }}',
        **same(NA, "INVALID_INPUT", "INVALID_INPUT", FB, FB),
    ),
    row(
        "cancelJob",
        f'mutation {{ cancelJob(id: "{RANDOM_ID}") {{ __typename {U} }} }}',
        **same(NA, NF, NF, FB, FB),
    ),
    row("creditLedger", "{ creditLedger { edges { cursor } } }", **same(NA, "ok", FB, "ok", FB)),
    row(
        "createCheckout",
        f"mutation {{ createCheckout(credits: 500) {{ __typename {U} }} }}",
        **same(NA, "BILLING_UNAVAILABLE", FB, FB, FB),
    ),
]
# Public by design (anyone may try; per-IP throttles apply) or covered over websockets.
NOT_IN_MATRIX = {"signUp", "logIn", "jobEvents"}


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
    """Account B with a key (its id is what A must not reach); then A signed in, with keys."""
    await sign_up(client, email="b@example.com")
    await create_key(client, name="b-key")
    keys = (await client.data("{ apiKeys { id } }"))["apiKeys"]
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="a@example.com")
    world = {"other_key": keys[0]["id"]}
    for scope in ("GENERATE", "READ", "CLONE"):
        world[f"key:{scope}"] = await create_key(client, [scope], name=scope)
    return world


@pytest.mark.parametrize(("field", "document", "variables", "expected"), ROWS)
async def test_matrix(client, field, document, variables, expected):
    world = await _world(client)
    cookies = list(client.http.session.cookie_jar)
    got = {}
    for caller in CALLERS:
        client.http.session.cookie_jar.clear()
        if caller == "session":
            for cookie in cookies:
                client.http.session.cookie_jar.update_cookies({cookie.key: cookie.value})
        values = {k: world[v[1:-1]] if v.startswith("{") else v for k, v in variables.items()}
        api_key = world[caller] if caller.startswith("key:") else None
        got[caller] = _outcome(field, await client.post(document, values, api_key=api_key))
    assert got == expected


def test_every_root_field_has_a_row():
    schema = build_schema(Settings())._schema
    fields = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            fields.update(root.fields)
    covered = {p.values[0] for p in ROWS} | NOT_IN_MATRIX
    assert fields - covered == set(), "add authorization rows for these fields"
