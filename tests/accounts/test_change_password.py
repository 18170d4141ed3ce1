"""changePassword: re-authentication, other sessions ended, throttled guesses, audited."""

from __future__ import annotations

import json

import pytest

from neurall.orm.accounts import Session
from neurall.orm.audit import AuditEvent
from tests.support.factories import create_key, sign_up
from tests.support.graphql import PASSWORD, session_cookies, use_cookies

pytestmark = pytest.mark.usefixtures("database_url")

CHANGE = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    __typename
    ... on Account { id }
    ... on UserError { code message }
    ... on InvalidInput { fields }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { __typename }
}
"""
ME = "{ me { id } }"
NEW_PASSWORD = "a brand new passphrase"


async def _log_in(client, password: str) -> str:
    data = await client.data(LOG_IN, {"email": "ada@example.com", "password": password})
    return data["logIn"]["__typename"]


async def test_change_password_ends_other_sessions(client):
    await sign_up(client)
    elsewhere = session_cookies(client)  # e.g. a stolen session on another device
    client.http.session.cookie_jar.clear()
    assert await _log_in(client, PASSWORD) == "Session"

    wrong = await client.data(CHANGE, {"current": "not my password", "new": NEW_PASSWORD})
    assert wrong["changePassword"]["fields"] == ["currentPassword"]
    short = (await client.data(CHANGE, {"current": PASSWORD, "new": "short"}))["changePassword"]
    assert short["fields"] == ["newPassword"]
    same = (await client.data(CHANGE, {"current": PASSWORD, "new": PASSWORD}))["changePassword"]
    assert same["__typename"] == "InvalidInput"
    assert same["fields"] == ["newPassword"]
    assert "the one you use now" in same["message"]
    assert await Session.all().count() == 2  # refusals changed nothing

    done = await client.data(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD})
    assert done["changePassword"]["__typename"] == "Account"
    assert (await client.data(ME))["me"] is not None  # this session stays
    use_cookies(client, elsewhere)
    assert (await client.data(ME))["me"] is None  # the other one is gone
    client.http.session.cookie_jar.clear()
    assert await _log_in(client, PASSWORD) == "NotAuthenticated"
    assert await _log_in(client, NEW_PASSWORD) == "Session"

    events = [e.event for e in await AuditEvent.all().order_by("created_at")]
    assert events.count("password_changed") == 1
    trail = json.dumps(await AuditEvent.all().values(), default=str)
    assert PASSWORD not in trail
    assert NEW_PASSWORD not in trail


async def test_api_keys_cannot_change_the_password(client):
    await sign_up(client)
    key = await create_key(client)
    client.http.session.cookie_jar.clear()
    result = await client.data(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, api_key=key)
    assert result["changePassword"]["code"] == "NOT_AUTHENTICATED"
    assert await _log_in(client, PASSWORD) == "Session"


async def test_guessing_the_current_password_is_throttled(client, settings):
    await sign_up(client)
    results = [
        (await client.data(CHANGE, {"current": f"guess number {n}", "new": NEW_PASSWORD}))[
            "changePassword"
        ]["__typename"]
        for n in range(settings.login_failures_per_email + 1)
    ]
    assert results[:-1] == ["InvalidInput"] * settings.login_failures_per_email
    assert results[-1] == "RateLimited"
    # The right password is refused too while the limit lasts: guessing gains nothing.
    last = await client.data(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD})
    assert last["changePassword"]["__typename"] == "RateLimited"
