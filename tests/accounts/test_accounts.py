"""signUp, logIn, logOut, me, updateProfile and setMarketingOptIn over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neurall.orm.accounts import Account, Session
from tests.support.factories import sign_up
from tests.support.graphql import PASSWORD, SIGN_UP

pytestmark = pytest.mark.usefixtures("database_url")

PASSWORD_LENGTH = "Passwords are 10 to 256 characters long."

ME = "{ me { id email name credits heldCredits marketingOptIn createdAt } }"
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) {
    __typename
    ... on Session { account { email } }
    ... on UserError { code message }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""
UPDATE_PROFILE = """
mutation($input: ProfileInput!) {
  updateProfile(input: $input) {
    __typename
    ... on Account { email name }
    ... on UserError { code message }
    ... on InvalidInput { fields errors { field message } }
  }
}
"""
SET_MARKETING = """
mutation($optIn: Boolean!) {
  setMarketingOptIn(optIn: $optIn) {
    __typename ... on Account { marketingOptIn } ... on UserError { code }
  }
}
"""


async def test_sign_up_starts_a_session_with_normalised_email(client):
    account = await sign_up(client, email="  Ada@Example.COM ", name=" Ada ")
    assert account["email"] == "ada@example.com"
    assert account["name"] == "Ada"
    assert account["marketingOptIn"] is True
    me = (await client.data(ME))["me"]
    assert me["id"] == account["id"]


@pytest.mark.parametrize(
    ("email", "password", "field", "message"),
    [
        ("not-an-email", PASSWORD, "input.email", "Enter a valid e-mail address."),
        ("a@b", PASSWORD, "input.email", "Enter a valid e-mail address."),
        ("ada@example.com", "short", "input.password", PASSWORD_LENGTH),
        ("ada@example.com", "x" * 257, "input.password", PASSWORD_LENGTH),
    ],
)
async def test_sign_up_rejects_bad_input(client, email, password, field, message):
    data = await client.data(SIGN_UP, {"input": {"email": email, "password": password}})
    assert data["signUp"]["__typename"] == "InvalidInput"
    assert data["signUp"]["fields"] == [field]
    assert data["signUp"]["errors"] == [{"field": field, "message": message}]
    assert await Account.all().count() == 0


async def test_sign_up_twice_is_a_conflict_whatever_the_case(client):
    await sign_up(client, email="ada@example.com")
    data = await client.data(SIGN_UP, {"input": {"email": "ADA@example.com", "password": PASSWORD}})
    assert data["signUp"]["__typename"] == "Conflict"
    assert await Account.all().count() == 1


async def test_sign_ups_are_rate_limited_per_ip(client, settings):
    for i in range(settings.signups_per_ip_per_hour):
        await sign_up(client, email=f"user{i}@example.com")
    data = await client.data(
        SIGN_UP, {"input": {"email": "one-more@example.com", "password": PASSWORD}}
    )
    assert data["signUp"]["__typename"] == "RateLimited"
    assert data["signUp"]["retryAfterSeconds"] > 0


async def test_password_is_stored_as_argon2id_with_owasp_parameters(client):
    await sign_up(client)
    account = await Account.get(email="ada@example.com")
    assert account.password_hash.startswith("$argon2id$")
    params = dict(p.split("=") for p in account.password_hash.split("$")[3].split(","))
    assert int(params["m"]) >= 19456
    assert int(params["t"]) >= 2
    assert PASSWORD not in account.password_hash


async def test_session_cookie_attributes_on_a_public_host(client):
    response = await client.http.post(
        "/graphql",
        json={
            "query": SIGN_UP,
            "variables": {"input": {"email": "ada@example.com", "password": PASSWORD}},
        },
        headers={"Host": "api.example.com"},
    )
    cookie = response.cookies["__Host-neurall_session"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["domain"]
    assert len(cookie.value) >= 43  # 256 bits, base64url


async def test_plain_http_cookie_only_on_localhost(client):
    response = await client.http.post(
        "/graphql",
        json={
            "query": SIGN_UP,
            "variables": {"input": {"email": "ada@example.com", "password": PASSWORD}},
        },
    )
    cookie = response.cookies["neurall_session"]
    assert not cookie["secure"]
    assert cookie["httponly"] is True


async def test_session_tokens_are_stored_only_as_hashes(client):
    await sign_up(client)
    token = client.http.session.cookie_jar.filter_cookies(client.port_url("/"))["neurall_session"]
    session = await Session.get()
    assert token.value not in session.token_hash
    assert len(session.token_hash) == 64


async def test_log_in_issues_a_new_token(client):
    await sign_up(client)
    jar = client.http.session.cookie_jar
    before = jar.filter_cookies(client.port_url("/"))["neurall_session"].value
    data = await client.data(LOG_IN, {"email": "ADA@example.com", "password": PASSWORD})
    assert data["logIn"]["__typename"] == "Session"
    after = jar.filter_cookies(client.port_url("/"))["neurall_session"].value
    assert after != before
    # The session the client had is replaced, not kept alongside.
    assert await Session.all().count() == 1


async def test_failed_logins_do_not_reveal_whether_the_email_exists(client):
    await sign_up(client)
    client.http.session.cookie_jar.clear()
    wrong_password = await client.data(LOG_IN, {"email": "ada@example.com", "password": "x" * 12})
    unknown = await client.data(LOG_IN, {"email": "bob@example.com", "password": "x" * 12})
    assert wrong_password["logIn"] == unknown["logIn"]
    assert wrong_password["logIn"]["__typename"] == "NotAuthenticated"
    assert (await client.data(ME))["me"] is None


async def test_repeated_failures_per_email_are_rate_limited(client, settings):
    await sign_up(client)
    for _ in range(settings.login_failures_per_email):
        data = await client.data(LOG_IN, {"email": "ada@example.com", "password": "y" * 12})
        assert data["logIn"]["__typename"] == "NotAuthenticated"
    # Even the right password is refused now: the limit protects the account.
    data = await client.data(LOG_IN, {"email": "ada@example.com", "password": PASSWORD})
    assert data["logIn"]["__typename"] == "RateLimited"
    assert data["logIn"]["retryAfterSeconds"] > 0


async def test_repeated_failures_per_ip_are_rate_limited(client, settings):
    for i in range(settings.login_failures_per_ip):
        await client.data(LOG_IN, {"email": f"u{i}@example.com", "password": "y" * 12})
    data = await client.data(LOG_IN, {"email": "other@example.com", "password": "y" * 12})
    assert data["logIn"]["__typename"] == "RateLimited"


async def test_log_out_revokes_the_session_at_once(client):
    await sign_up(client)
    token = client.http.session.cookie_jar.filter_cookies(client.port_url("/"))["neurall_session"]
    assert (await client.data("mutation { logOut }"))["logOut"] is True
    assert await Session.all().count() == 0
    # Replaying the old cookie does not bring the session back.
    body = await client.post(ME, headers={"Cookie": f"neurall_session={token.value}"})
    assert body["data"]["me"] is None
    assert (await client.data("mutation { logOut }"))["logOut"] is False


@pytest.mark.parametrize("expiry", ["idle", "absolute"])
async def test_expired_sessions_are_refused(client, settings, expiry):
    await sign_up(client)
    now = datetime.now(UTC)
    if expiry == "idle":
        stale = now - timedelta(seconds=settings.session_idle_timeout_s + 1)
        await Session.all().update(last_seen_at=stale)
    else:
        await Session.all().update(expires_at=now - timedelta(seconds=1))
    assert (await client.data(ME))["me"] is None
    assert await Session.all().count() == 0


async def test_me_is_null_without_credentials(client):
    assert (await client.data(ME))["me"] is None


async def test_update_profile(client):
    await sign_up(client, name="Ada")
    data = await client.data(UPDATE_PROFILE, {"input": {"email": "Ada.L@Example.com"}})
    # A new address waits for its confirmation link (tests/mail/test_email_change.py).
    assert data["updateProfile"] == {
        "__typename": "Account",
        "email": "ada@example.com",
        "name": "Ada",
    }
    assert (await Account.get()).pending_email == "ada.l@example.com"
    data = await client.data(UPDATE_PROFILE, {"input": {"name": "Ada Lovelace"}})
    assert data["updateProfile"]["name"] == "Ada Lovelace"
    assert data["updateProfile"]["email"] == "ada@example.com"


async def test_update_profile_rejects_bad_or_taken_email(client, aiohttp_client, settings):
    await sign_up(client, email="bob@example.com")
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="ada@example.com")
    for email in ["nope", "bob@example.com"]:
        data = await client.data(UPDATE_PROFILE, {"input": {"email": email}})
        assert data["updateProfile"]["__typename"] == "InvalidInput"
        assert data["updateProfile"]["fields"] == ["input.email"]
    assert data["updateProfile"]["errors"] == [
        {"field": "input.email", "message": "This e-mail cannot be used."}
    ]
    data = await client.data(UPDATE_PROFILE, {"input": {"name": "n" * 201}})
    assert data["updateProfile"]["fields"] == ["input.name"]
    assert data["updateProfile"]["errors"][0]["message"] == "Names are at most 200 characters."
    assert (await Account.get(email="ada@example.com")).name is None


async def test_update_profile_needs_a_session(client):
    data = await client.data(UPDATE_PROFILE, {"input": {"name": "x"}})
    assert data["updateProfile"]["__typename"] == "NotAuthenticated"


async def test_marketing_opt_in_defaults_true_and_can_be_turned_off(client):
    await sign_up(client)
    data = await client.data(SET_MARKETING, {"optIn": False})
    assert data["setMarketingOptIn"] == {"__typename": "Account", "marketingOptIn": False}
    assert (await client.data(ME))["me"]["marketingOptIn"] is False
    assert (await Account.get()).marketing_opt_in is False
    client.http.session.cookie_jar.clear()
    data = await client.data(SET_MARKETING, {"optIn": True})
    assert data["setMarketingOptIn"]["__typename"] == "NotAuthenticated"
