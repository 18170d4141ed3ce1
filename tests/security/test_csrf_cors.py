"""CSRF and CORS middleware (neurall/web/csrf.py, cors.py) over real HTTP."""

from __future__ import annotations

import json

import aiohttp
import pytest

from neurall.web.csrf import CSRF_EXEMPT_PATHS
from tests.support.factories import create_key, sign_up

ME = "{ me { id } }"
TRUSTED = "https://app.example.com"
EVIL = "https://evil.example"


@pytest.fixture
async def signed_in(make_client):
    client = await make_client(cors_origins=TRUSTED)
    await sign_up(client)  # the cookie jar now holds the session
    return client


async def _post(client, headers=None, data=None, content_type="application/json"):
    body = data if data is not None else json.dumps({"query": ME})
    return await client.http.post(
        "/graphql", data=body, headers={"Content-Type": content_type, **(headers or {})}
    )


async def test_same_origin_and_originless_json_posts_pass(signed_in):
    for headers in ({}, {"Origin": str(signed_in.port_url("")).rstrip("/")}):
        response = await _post(signed_in, headers)
        assert response.status == 200, headers
        assert (await response.json())["data"]["me"] is not None


@pytest.mark.parametrize("origin", [TRUSTED, "http://127.0.0.1:8000"])  # allowlist, public_url
async def test_trusted_origins_pass(signed_in, origin):
    response = await _post(signed_in, {"Origin": origin, "Sec-Fetch-Site": "cross-site"})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://app.example.com.evil.example"},
    ],
)
async def test_cross_site_cookie_requests_are_refused(signed_in, headers):
    response = await _post(signed_in, headers)
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_login_csrf_is_refused_too(make_client):
    client = await make_client()
    query = 'mutation { logIn(email: "a@example.com", password: "x") { __typename } }'
    response = await _post(client, {"Origin": EVIL}, data=json.dumps({"query": query}))
    assert response.status == 403


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/graphql"]
)
async def test_non_json_bodies_are_refused(signed_in, content_type):
    response = await _post(signed_in, content_type=content_type)
    assert response.status == 415


def _multipart() -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("operations", json.dumps({"query": ME, "variables": {}}))
    form.add_field("map", "{}")
    return form


async def test_multipart_needs_the_csrf_header(signed_in):
    refused = await signed_in.http.post("/graphql", data=_multipart())
    assert refused.status == 403
    for header in ("X-Neurall-CSRF", "apollo-require-preflight"):
        accepted = await signed_in.http.post("/graphql", data=_multipart(), headers={header: "1"})
        assert accepted.status == 200, await accepted.text()
        assert (await accepted.json())["data"]["me"] is not None


async def test_api_key_requests_are_not_subject_to_csrf(signed_in):
    key = await create_key(signed_in, ["READ"])
    headers = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Authorization": f"Bearer {key}"}
    response = await _post(signed_in, headers)
    assert response.status == 200
    assert (await response.json())["data"]["me"] is not None
    assert "Access-Control-Allow-Origin" not in response.headers  # still no CORS for EVIL


async def test_exempt_paths_are_listed_and_skip_csrf(signed_in):
    assert {"/webhooks/stripe", "/unsubscribe"} <= CSRF_EXEMPT_PATHS
    headers = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}
    response = await signed_in.http.post("/webhooks/stripe", data="{}", headers=headers)
    assert response.status not in (403, 415)  # the webhook's own signature check answers


async def test_gets_are_not_csrf_checked(signed_in):
    response = await signed_in.http.get("/healthz", headers={"Origin": EVIL})
    assert response.status == 200


async def test_preflight_from_trusted_origin(signed_in):
    response = await signed_in.http.options(
        "/graphql",
        headers={
            "Origin": TRUSTED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-neurall-csrf",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == TRUSTED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-Neurall-CSRF" in response.headers["Access-Control-Allow-Headers"]
    assert "Origin" in response.headers["Vary"]


async def test_preflight_from_other_origin_is_refused(signed_in):
    response = await signed_in.http.options(
        "/graphql", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_setting_is_validated():
    from neurall.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="NEURALL_CORS_ORIGINS"):
        load_settings(cors_origins="https://ok.example, ftp://bad")
