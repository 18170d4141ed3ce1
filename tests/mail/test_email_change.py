"""Changing the address: a link to the new one, a notice without link to the old one; the
address changes only when the link is used."""

from __future__ import annotations

import pytest

from neurall.orm.accounts import Account
from neurall.orm.audit import AuditEvent
from tests.support.factories import sign_up
from tests.support.graphql import PASSWORD
from tests.support.smtp import SmtpServer, html_part, link_token, text_part

pytestmark = pytest.mark.usefixtures("database_url")

UPDATE = """
mutation($email: String) {
  updateProfile(input: {email: $email}) {
    __typename
    ... on Account { email pendingEmail emailVerified }
    ... on InvalidInput { fields }
  }
}
"""
VERIFY = """
mutation($token: String!) {
  verifyEmail(token: $token) {
    __typename
    ... on Account { email pendingEmail emailVerified }
  }
}
"""
LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { __typename }
}
"""


async def test_link_to_the_new_address_notice_to_the_old(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    data = await client.data(UPDATE, {"email": "lovelace@example.org"})
    assert data["updateProfile"] == {
        "__typename": "Account",
        "email": "ada@example.com",
        "pendingEmail": "lovelace@example.org",
        "emailVerified": False,
    }
    # Asked for again, the link goes to the pending address.
    request = await client.data("mutation { requestEmailVerification { __typename } }")
    assert request["requestEmailVerification"]["__typename"] == "Accepted"
    first, link_message = await smtp.inbox.wait_for("lovelace@example.org", 2)
    token = link_token(link_message, "verify-email")
    assert token != link_token(first, "verify-email")
    old_messages = await smtp.inbox.wait_for("ada@example.com", 2)
    [notice] = [m for m in old_messages if "being changed" in m["Subject"]]
    for part in (text_part(notice), html_part(notice)):
        assert "verify-email" not in part
        assert token not in part
        assert "lovelace@example.org" not in part  # the new address only masked
        assert "lo…@example.org" in part
    # Nothing changed yet: the old address still logs in.
    assert (await Account.get()).email == "ada@example.com"

    data = await client.data(VERIFY, {"token": token})
    assert data["verifyEmail"] == {
        "__typename": "Account",
        "email": "lovelace@example.org",
        "pendingEmail": None,
        "emailVerified": True,
    }
    client.http.session.cookie_jar.clear()
    old = await client.data(LOG_IN, {"email": "ada@example.com", "password": PASSWORD})
    assert old["logIn"]["__typename"] == "NotAuthenticated"
    new = await client.data(LOG_IN, {"email": "lovelace@example.org", "password": PASSWORD})
    assert new["logIn"]["__typename"] == "Session"
    assert {e.event for e in await AuditEvent.all()} >= {
        "email_change_requested",
        "email_changed",
    }


async def test_a_superseded_link_no_longer_works(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    await client.data(UPDATE, {"email": "first@example.org"})
    [first] = await smtp.inbox.wait_for("first@example.org")
    await client.data(UPDATE, {"email": "second@example.org"})
    data = await client.data(VERIFY, {"token": link_token(first, "verify-email")})
    assert data["verifyEmail"]["__typename"] == "InvalidInput"
    # Asking for the current address again cancels the pending change.
    data = await client.data(UPDATE, {"email": "ada@example.com"})
    assert data["updateProfile"]["pendingEmail"] is None
    [second] = await smtp.inbox.wait_for("second@example.org")
    data = await client.data(VERIFY, {"token": link_token(second, "verify-email")})
    assert data["verifyEmail"]["__typename"] == "InvalidInput"
    assert (await Account.get()).email == "ada@example.com"


async def test_an_address_taken_meanwhile_is_refused(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    await client.data(UPDATE, {"email": "shared@example.org"})
    [message] = await smtp.inbox.wait_for("shared@example.org")
    client.http.session.cookie_jar.clear()
    await sign_up(client, "shared@example.org")
    data = await client.data(VERIFY, {"token": link_token(message, "verify-email")})
    assert data["verifyEmail"]["__typename"] == "InvalidInput"
    assert await Account.filter(email="ada@example.com").exists()
