"""Sign-up sends a confirmation link; the link confirms the address; unconfirmed accounts
cannot buy credits or create API keys when verification is required."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from neurall.app import create_app
from neurall.config import load_settings
from neurall.orm.mail import EmailToken, OutboxMessage
from tests.support.factories import sign_up
from tests.support.graphql import CREATE_KEY, GraphQLClient, session_cookies, use_cookies
from tests.support.poll import until
from tests.support.smtp import SmtpServer, html_part, link_token, text_part

pytestmark = pytest.mark.usefixtures("database_url")

ME = "{ me { email emailVerified pendingEmail } }"
VERIFY = """
mutation($token: String!) {
  verifyEmail(token: $token) {
    __typename
    ... on Account { email emailVerified pendingEmail }
    ... on UserError { message }
    ... on InvalidInput { fields }
  }
}
"""
REQUEST = """
mutation {
  requestEmailVerification {
    __typename
    ... on Accepted { message }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""
CHECKOUT = "mutation { createCheckout(credits: 500) { __typename } }"


async def test_sign_up_then_verify_through_the_link(client, smtp: SmtpServer, settings):
    await sign_up(client, "ada@example.com")
    assert (await client.data(ME))["me"]["emailVerified"] is False
    [message] = await smtp.inbox.wait_for("ada@example.com")

    assert message["From"] == settings.mail_from
    assert message["Subject"] == "Neurall: confirm your e-mail address"
    assert message["List-Unsubscribe"] is None  # transactional mail never carries it
    assert message.is_multipart()
    text, html = text_part(message), html_part(message)
    token = link_token(message, "verify-email")
    assert f"{settings.public_url}/#verify-email={token}" in text
    assert f'href="{settings.public_url}/#verify-email={token}"' in html
    assert "Neurall" in html
    assert "You receive this because" in text
    # Only the hash is stored; the sent row is gone.
    rows = await EmailToken.all().values()
    assert token not in str(rows)
    assert [r["token_hash"] for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    lifetime = rows[0]["expires_at"] - rows[0]["created_at"]
    assert abs(lifetime - timedelta(hours=48)) < timedelta(seconds=1)
    # The sender deletes the row once the SMTP server took the message: a moment after
    # the message arrived here.
    await until(lambda: OutboxMessage.all().count(), lambda left: left == 0, within=10)

    client.http.session.cookie_jar.clear()  # the link works without a session
    data = await client.data(VERIFY, {"token": token})
    assert data["verifyEmail"] == {
        "__typename": "Account",
        "email": "ada@example.com",
        "emailVerified": True,
        "pendingEmail": None,
    }
    again = await client.data(VERIFY, {"token": token})
    assert again["verifyEmail"]["__typename"] == "InvalidInput"  # single use
    assert again["verifyEmail"]["message"] == "This link was already used. Each link works once."

    await client.data(
        'mutation { logIn(email: "ada@example.com", password: "correct horse battery staple") '
        "{ __typename } }"
    )
    done = await client.data(REQUEST)
    assert done["requestEmailVerification"]["message"] == "This address is already confirmed."
    assert not await OutboxMessage.exists()  # nothing more is sent


async def test_forged_or_altered_tokens_are_refused(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    [message] = await smtp.inbox.wait_for("ada@example.com")
    token = link_token(message, "verify-email")
    for bad in ("nope", token[:-2] + "xx", token[:-2] + "éé", "0" * 32 + token[32:]):
        data = await client.data(VERIFY, {"token": bad})
        assert data["verifyEmail"]["__typename"] == "InvalidInput"
        assert data["verifyEmail"]["fields"] == ["token"]
    assert (await client.data(ME))["me"]["emailVerified"] is False


async def test_request_again_is_rate_limited(client, smtp: SmtpServer, settings):
    await sign_up(client, "ada@example.com")
    for _ in range(settings.verification_emails_per_hour):
        data = await client.data(REQUEST)
        assert data["requestEmailVerification"]["__typename"] == "Accepted"
    data = await client.data(REQUEST)
    assert data["requestEmailVerification"]["__typename"] == "RateLimited"
    messages = await smtp.inbox.wait_for(
        "ada@example.com", 1 + settings.verification_emails_per_hour
    )
    # Every link works until used (each is its own token).
    tokens = {link_token(m, "verify-email") for m in messages}
    assert len(tokens) == len(messages)


async def test_api_processes_on_one_database_share_the_limit(aiohttp_client, settings):
    """Two apps on one database stand for two API processes: with the database backend the
    account's requests to either spend one bucket."""
    shared = settings.model_copy(update={"rate_limit_backend": "database"})
    first, second = [GraphQLClient(await aiohttp_client(create_app(shared))) for _ in range(2)]
    await sign_up(first, "ada@example.com")
    use_cookies(second, session_cookies(first))
    kinds = [
        (await (first, second)[n % 2].data(REQUEST))["requestEmailVerification"]["__typename"]
        for n in range(settings.verification_emails_per_hour + 1)
    ]
    assert kinds == ["Accepted"] * settings.verification_emails_per_hour + ["RateLimited"]


async def test_unverified_accounts_cannot_buy_or_create_keys_when_required(
    aiohttp_client, tmp_path: Path, database_url: str, smtp: SmtpServer
):
    from tests.support.graphql import GraphQLClient

    settings = load_settings(
        data_dir=tmp_path / "strict",
        database_url=database_url,
        smtp_url=smtp.url,
        require_verified_email=True,
    )
    client = GraphQLClient(await aiohttp_client(create_app(settings)))
    await sign_up(client, "ada@example.com")
    data = await client.data(CREATE_KEY, {"name": "k", "scopes": None})
    assert data["createApiKey"]["__typename"] == "Forbidden"
    assert "Confirm your e-mail address" in data["createApiKey"]["message"]
    body = await client.post(CHECKOUT)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "buy credits" in body["errors"][0]["message"]

    [message] = await smtp.inbox.wait_for("ada@example.com")
    await client.data(VERIFY, {"token": link_token(message, "verify-email")})
    data = await client.data(CREATE_KEY, {"name": "k", "scopes": None})
    assert data["createApiKey"]["__typename"] == "CreatedApiKey"


def test_verification_is_required_in_production_only_by_default(tmp_path: Path):
    assert load_settings(data_dir=tmp_path).require_verified_email is False
    assert load_settings(data_dir=tmp_path, production=True).require_verified_email is True
