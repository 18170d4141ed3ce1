"""GraphQL-level limits: batching, GET, depth/aliases/tokens, production mode, helpers."""

from __future__ import annotations

import pytest

from neurall.errors import InvalidInputError
from neurall.graphql.pagination import MAX_PAGE_SIZE, clamp_first
from neurall.orm.pages import decode_cursor, encode_cursor

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_query_batching_is_off(make_client):
    client = await make_client()
    response = await client.http.post("/graphql", json=[{"query": "{ me { id } }"}] * 2)
    assert response.status == 400
    assert "data" not in await response.text()


async def test_queries_over_get_are_refused(make_client):
    client = await make_client()
    response = await client.http.get("/graphql", params={"query": "{ me { id } }"})
    assert response.status >= 400


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ("{ me { id } }".replace("me { id }", "a: me { id } " * 20), "alias"),
        ("{ me { id " + "x " * 2100 + "} }", "token"),
    ],
)
async def test_alias_and_token_limits(make_client, document, needle):
    client = await make_client()
    body = await client.post(document)
    assert body.get("data") is None
    assert needle in body["errors"][0]["message"].lower()


async def test_development_mode_keeps_graphiql_and_introspection(make_client):
    client = await make_client(production=False)
    page = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status == 200
    # The playground when it is built (it opens its bundled GraphiQL there), else
    # Strawberry's own page.
    text = await page.text()
    assert "graphiql" in text.lower() or '<div id="root">' in text
    body = await client.post(INTROSPECTION)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    suggestion = await client.post("{ mee { id } }")
    assert "Did you mean" in suggestion["errors"][0]["message"]


async def test_production_mode_turns_off_graphiql_introspection_and_suggestions(make_client):
    client = await make_client(production=True)
    page = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in (await page.text()).lower()
    body = await client.post(INTROSPECTION)
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()
    typename = await client.post('{ __type(name: "Account") { name } }')
    assert typename.get("data") is None
    suggestion = await client.post("{ mee { id } }")
    assert suggestion.get("data") is None
    assert "did you mean" not in suggestion["errors"][0]["message"].lower()
    assert "me" not in suggestion["errors"][0]["message"].replace("mee", "")


def test_page_sizes_are_capped():
    assert clamp_first(10_000) == MAX_PAGE_SIZE == 100
    assert clamp_first(-5) == 1
    assert clamp_first(None, 50) == 50


def test_cursors_round_trip_and_are_opaque():
    cursor = encode_cursor("2026-01-01T00:00:00+00:00", "0b7e", 5)
    assert "0b7e" not in cursor
    assert decode_cursor(cursor, 3) == ["2026-01-01T00:00:00+00:00", "0b7e", 5]
    assert decode_cursor(None, 3) is None


@pytest.mark.parametrize(
    "bad", ["x", "!!!", encode_cursor("a"), encode_cursor("a", "b", "c", "d"), "a" * 600, "é"]
)
def test_malformed_cursors_are_invalid_input(bad):
    with pytest.raises(InvalidInputError) as refused:
        decode_cursor(bad, 3)
    assert refused.value.fields == ["after"]
