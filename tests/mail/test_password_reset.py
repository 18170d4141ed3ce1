"""Password reset: the link from the received e-mail sets a new password, ends every
session, logs in; single use, one hour, stored only as a hash, rate limited."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest

from neurall import clock
from neurall.accounts.password_reset import ResetThrottle
from neurall.app import create_app
from neurall.config import Settings
from neurall.mail.delivery import Outcome
from neurall.mail.reset_request import request_password_reset
from neurall.orm.accounts import Account, Session
from neurall.orm.audit import AuditEvent
from neurall.orm.mail import EmailToken, OutboxMessage
from neurall.orm.ratelimit import RateLimitBucket
from neurall.ratelimit import backend_factory
from neurall.workers.mail import build_mailer
from tests.support.factories import sign_up
from tests.support.graphql import PASSWORD, GraphQLClient, session_cookies, use_cookies
from tests.support.smtp import SmtpServer, link_token, text_part

pytestmark = pytest.mark.usefixtures("database_url")

REQUEST = """
mutation($email: String!) {
  requestPasswordReset(email: $email) {
    __typename
    ... on Accepted { message }
    ... on InvalidInput { fields }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(token: $token, newPassword: $password) {
    __typename
    ... on Session { account { email emailVerified } }
    ... on UserError { message }
    ... on InvalidInput { fields }
  }
}
"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { __typename }
}
"""
ME = "{ me { email } }"
NEW_PASSWORD = "a brand new passphrase"


async def _reset_token(client, smtp: SmtpServer, typed: str) -> str:
    data = await client.data(REQUEST, {"email": typed})
    assert data["requestPasswordReset"]["__typename"] == "Accepted"
    address = typed.strip().lower()
    messages = [
        m
        for m in await smtp.inbox.wait_for(address, 2)  # and the sign-up confirmation
        if "reset" in m["Subject"]
    ]
    assert messages[-1]["List-Unsubscribe"] is None
    return link_token(messages[-1], "reset-password")


async def test_reset_through_the_link_ends_old_sessions(
    client, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)  # even SQL parameters: no token, no password
    await sign_up(client, "ada@example.com")
    first = session_cookies(client)
    client.http.session.cookie_jar.clear()
    await client.data(LOG_IN, {"email": "ada@example.com", "password": PASSWORD})
    second = session_cookies(client)
    assert await Session.all().count() == 2
    client.http.session.cookie_jar.clear()

    token = await _reset_token(client, smtp, "Ada@Example.com ")
    stored = await EmailToken.get(purpose="reset_password")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert abs(stored.expires_at - stored.created_at - timedelta(hours=1)) < timedelta(seconds=1)

    short = await client.data(RESET, {"token": token, "password": "short"})
    assert short["resetPassword"]["fields"] == ["newPassword"]  # the link still works
    data = await client.data(RESET, {"token": token, "password": NEW_PASSWORD})
    assert data["resetPassword"] == {
        "__typename": "Session",
        "account": {"email": "ada@example.com", "emailVerified": True},
    }
    assert (await client.data(ME))["me"] == {"email": "ada@example.com"}  # logged in
    assert await Session.all().count() == 1
    for old in (first, second):
        use_cookies(client, old)
        assert (await client.data(ME))["me"] is None

    client.http.session.cookie_jar.clear()
    again = await client.data(RESET, {"token": token, "password": "yet another password"})
    assert again["resetPassword"]["__typename"] == "InvalidInput"  # single use
    wrong = await client.data(LOG_IN, {"email": "ada@example.com", "password": PASSWORD})
    assert wrong["logIn"]["__typename"] == "NotAuthenticated"
    right = await client.data(LOG_IN, {"email": "ada@example.com", "password": NEW_PASSWORD})
    assert right["logIn"]["__typename"] == "Session"

    events = [e.event for e in await AuditEvent.all()]
    assert "password_reset" in events
    messages = await smtp.inbox.wait_for("ada@example.com", 3)
    [notice] = [m for m in messages if "password was changed" in m["Subject"]]
    assert "reset-password=" not in text_part(notice)  # a notice carries no token
    # Everything logged in this process but the test SMTP server's own "mail.*" loggers.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail."))
    assert "e-mail" in ours
    for secret in (token, token.split(".")[1], NEW_PASSWORD, PASSWORD):
        assert secret not in ours


async def test_expired_links_are_refused(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    client.http.session.cookie_jar.clear()
    token = await _reset_token(client, smtp, "ada@example.com")
    await EmailToken.filter(purpose="reset_password").update(
        expires_at=clock.now() - timedelta(seconds=1)
    )
    data = await client.data(RESET, {"token": token, "password": NEW_PASSWORD})
    assert data["resetPassword"]["__typename"] == "InvalidInput"
    # The link is genuine, so its holder is told why: an expired link, not a used one.
    assert data["resetPassword"]["message"] == "This link has expired."
    forged = await client.data(RESET, {"token": token[:-2] + "xx", "password": NEW_PASSWORD})
    assert "not valid" in forged["resetPassword"]["message"]


async def test_malformed_addresses_are_refused_and_requests_rate_limited(client, settings):
    bad = await client.data(REQUEST, {"email": "not an address"})
    assert bad["requestPasswordReset"]["fields"] == ["email"]
    per_email = settings.password_resets_per_email_per_hour
    answers = [
        (await client.data(REQUEST, {"email": "nobody@example.com"}))["requestPasswordReset"]
        for _ in range(per_email + 1)
    ]
    assert [a["__typename"] for a in answers] == ["Accepted"] * per_email + ["RateLimited"]
    # Per IP: other addresses from the same client run out too.
    left = settings.password_resets_per_ip_per_hour - per_email
    kinds = [
        (await client.data(REQUEST, {"email": f"n{n}@example.com"}))["requestPasswordReset"][
            "__typename"
        ]
        for n in range(left + 1)
    ]
    assert kinds == ["Accepted"] * left + ["RateLimited"]


class _Recorded:
    """The request path's MailDispatch, kept from sending so its rows can be compared."""

    def __init__(self) -> None:
        self.dispatched: list[tuple[list[uuid.UUID], int]] = []

    async def dispatch(self, message_ids: Sequence[uuid.UUID], *, delay_ms: int = 0) -> None:
        self.dispatched.append((list(message_ids), delay_ms))


async def test_known_and_unknown_addresses_take_the_same_request_path(
    client, settings, smtp: SmtpServer
):
    """What the answer waits for is the same for every address: one outbox row holding only
    the address, and its dispatch. The account is looked up when the row is sent. (The
    app, started by ``client``, holds the database; the calls go around it.)"""
    await Account.create(email="ada@example.com")
    mail = _Recorded()
    throttle = ResetThrottle(10, 10, backend_factory(settings))
    for address in ("ada@example.com", "nobody@example.com"):
        await request_password_reset(
            address, ip="192.0.2.1", throttle=throttle, settings=settings, mail=mail
        )
    rows = await OutboxMessage.all().order_by("created_at")
    shapes = [(r.kind, r.account_id, r.params, r.attempts, r.claimed_until) for r in rows]
    assert shapes == [("password_reset", None, {}, 0, None)] * 2
    assert [r.to_address for r in rows] == ["ada@example.com", "nobody@example.com"]
    assert [ids for ids, _ in mail.dispatched] == [[r.id] for r in rows]
    # Sent after the answer has left, known or not.
    assert {delay for _, delay in mail.dispatched} == {settings.password_reset_response_ms * 3 // 2}
    assert not await EmailToken.exists()

    # Sent: the known address gets a link, the unknown one nothing, and both rows go.
    mailer = build_mailer(settings)
    outcomes = [await mailer.deliver(r.id) for r in rows]
    assert outcomes == [Outcome.SENT, Outcome.DROPPED]
    assert not await OutboxMessage.exists()
    token = await EmailToken.get()
    assert token.id == rows[0].id  # a retried send would reuse it
    [message] = await smtp.inbox.wait_for("ada@example.com")
    assert link_token(message, "reset-password")


async def test_api_processes_on_one_database_share_the_limits(aiohttp_client, settings: Settings):
    """Two apps on one database stand for two API processes: with the database backend a
    request to either spends the same buckets, and the table holds no address."""
    shared = settings.model_copy(update={"rate_limit_backend": "database"})
    apps = [GraphQLClient(await aiohttp_client(create_app(shared))) for _ in range(2)]
    per_email = settings.password_resets_per_email_per_hour
    kinds = [
        (await apps[n % 2].data(REQUEST, {"email": "nobody@example.com"}))["requestPasswordReset"][
            "__typename"
        ]
        for n in range(per_email + 1)
    ]
    assert kinds == ["Accepted"] * per_email + ["RateLimited"]
    keys = await RateLimitBucket.all().values_list("key", flat=True)
    assert len(keys) == 2  # one per address, one per IP
    assert not [k for k in keys if "nobody" in k or "127.0.0.1" in k]
