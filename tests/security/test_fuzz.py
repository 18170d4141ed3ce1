"""Fuzzing the live app with documents generated from the served schema.

Valid queries and mutations come from hypothesis-graphql; malformed ones are those with
bytes cut, repeated or replaced, plus bodies of the wrong JSON shape. Whatever arrives,
the server must answer below 500 and never leak a traceback, SQL or a file path.

CI runs a short pass (FUZZ_EXAMPLES, default 150 per test); ``scripts/fuzz.py`` runs the
long one (10,000+).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from neurall.graphql.schema import build_schema
from tests.support.factories import create_key, sign_up

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
SCHEMA = str(build_schema(__import__("neurall.config", fromlist=["Settings"]).Settings()))

# Markers of internals; matched only when the request itself does not contain them
# (error messages may quote the caller's own document).
LEAKS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"Traceback \(most recent call last\)",
        r'File "[^"]+", line \d+',
        r"[\w/.-]+\.py\b",
        r"site-packages",
        r"/work/|/root/|/home/|/usr/lib",
        r"\bSELECT\b.+\bFROM\b",
        r"\bINSERT INTO\b",
        r"\bUPDATE \w+ SET\b",
        r"sqlite3?\.|asyncpg|psycopg|tortoise",
        r"IntegrityError|OperationalError|ProgrammingError",
    )
]
# Scalars hypothesis-graphql cannot invent. DateTime: real timestamps and junk strings.
# Upload: a JSON document cannot carry a file, so only what a client could put there.
CUSTOM_SCALARS = {
    "DateTime": st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.text(max_size=30),
    ).map(nodes.String),
    "Upload": st.one_of(st.just(nodes.Null), st.text(max_size=20).map(nodes.String)),
}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize="FUZZ_SEED" not in os.environ,
)


@pytest.fixture
async def fuzz_client(make_client):
    # No free credits: generate stops at InsufficientCredits instead of running jobs.
    client = await make_client(
        signup_grant_credits=0,
        requests_per_minute_per_api_key=1_000_000,
        requests_per_minute_per_account=1_000_000,
        signups_per_ip_per_hour=1_000_000,
    )
    await sign_up(client, email="fuzz@example.com")
    client.key = await create_key(client)  # type: ignore[attr-defined]
    return client


async def _check(client: Any, body: str, api_key: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    response = await client.http.post("/graphql", data=body, headers=headers)
    text = await response.text()
    assert response.status < 500, (response.status, body, text)
    for pattern in LEAKS:
        if pattern.search(text) and not pattern.search(body):
            raise AssertionError(f"leak {pattern.pattern!r}: {text[:500]} for {body[:500]}")


def _mangle(data: st.DataObject, document: str) -> str:
    if not document:
        return document
    i = data.draw(st.integers(0, len(document) - 1))
    j = data.draw(st.integers(i, len(document)))
    match data.draw(st.sampled_from(["cut", "repeat", "replace", "truncate"])):
        case "cut":
            return document[:i] + document[j:]
        case "repeat":
            return document[:j] + document[i:j] * data.draw(st.integers(2, 5)) + document[j:]
        case "replace":
            junk = data.draw(st.text(st.sampled_from('{}()[]:$@!."\\ \n#,=|&...'), max_size=8))
            return document[:i] + junk + document[j:]
    return document[:i]


@FUZZ_SETTINGS
@given(data=st.data(), auth=st.sampled_from(["anonymous", "key"]))
async def test_valid_documents(fuzz_client, data, auth):
    document = data.draw(from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS))
    api_key = fuzz_client.key if auth == "key" else None
    await _check(fuzz_client, json.dumps({"query": document}), api_key)


@FUZZ_SETTINGS
@given(data=st.data())
async def test_malformed_documents(fuzz_client, data):
    if data.draw(st.booleans()):  # hypothesis-graphql's own invalid documents
        document = data.draw(from_schema(SCHEMA, mode=Mode.NEGATIVE, custom_scalars=CUSTOM_SCALARS))
    else:
        document = _mangle(data, data.draw(from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS)))
    await _check(fuzz_client, json.dumps({"query": document}), fuzz_client.key)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ_SETTINGS
@given(
    body=st.one_of(
        json_values.map(json.dumps),
        st.fixed_dictionaries(
            {"query": json_values, "variables": json_values, "operationName": json_values}
        ).map(json.dumps),
        st.text(max_size=200),
    )
)
async def test_malformed_bodies(fuzz_client, body):
    await _check(fuzz_client, body, fuzz_client.key)
