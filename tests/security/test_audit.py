"""The audit log: events from the account flows, no secrets, bounded retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from neurall.audit import AuditEventType, delete_expired_audit_events, record
from neurall.orm.audit import AuditEvent
from tests.support.factories import create_key, sign_up
from tests.support.graphql import PASSWORD

pytestmark = pytest.mark.usefixtures("database_url")

LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(email: $email, password: $password) { __typename }
}
"""
KEY_OP = """
mutation($id: ID!) {
  revokeApiKey(id: $id) { __typename }
}
"""
REGENERATE = """
mutation($id: ID!) {
  regenerateApiKey(id: $id) { __typename ... on CreatedApiKey { secret apiKey { id } } }
}
"""
KEYS = "{ apiKeys { id } }"
PROFILE = """
mutation($email: String) { updateProfile(input: {email: $email}) { __typename } }
"""


async def _all_rows_text() -> str:
    rows = await AuditEvent.all().values()
    return json.dumps(rows, default=str)


async def test_account_flows_are_recorded_without_secrets(client):
    ua = {"User-Agent": "audit-test/1.0"}
    account = await sign_up(client, email="ada@example.com")
    session_cookie = next(iter(client.http.session.cookie_jar)).value
    secret = await create_key(client, ["READ"])
    key_id = (await client.data(KEYS))["apiKeys"][0]["id"]
    regenerated = await client.data(REGENERATE, {"id": key_id})
    new_secret = regenerated["regenerateApiKey"]["secret"]
    new_id = regenerated["regenerateApiKey"]["apiKey"]["id"]
    await client.data(KEY_OP, {"id": new_id})
    await client.data(PROFILE, {"email": "lovelace@example.com"})
    await client.data(LOG_IN, {"email": "ada@example.com", "password": "wrong password!"})
    await client.data(LOG_IN, {"email": "nobody@example.com", "password": "wrong password!"})
    await client.data(LOG_IN, {"email": "ada@example.com", "password": PASSWORD}, headers=ua)
    await client.data("mutation { logOut }")

    rows = await AuditEvent.all().order_by("created_at")
    events = [r.event for r in rows]
    assert events == [
        AuditEventType.SIGN_UP,
        AuditEventType.API_KEY_CREATED,
        AuditEventType.API_KEY_REGENERATED,
        AuditEventType.API_KEY_REVOKED,
        AuditEventType.EMAIL_CHANGE_REQUESTED,
        AuditEventType.LOG_IN_FAILED,
        AuditEventType.LOG_IN_FAILED,
        AuditEventType.LOG_IN,
        AuditEventType.LOG_OUT,
    ]
    by_event = {r.event: r for r in rows}
    assert by_event[AuditEventType.API_KEY_CREATED].details == {
        "api_key_id": key_id,
        "scopes": ["READ"],
    }
    assert by_event[AuditEventType.API_KEY_REGENERATED].details["new_api_key_id"] == new_id
    assert by_event[AuditEventType.LOG_IN].user_agent == "audit-test/1.0"
    assert all(r.ip for r in rows)
    known, unknown = [r for r in rows if r.event == AuditEventType.LOG_IN_FAILED]
    assert str(known.account_id) == account["id"]
    assert known.details == {"reason": "wrong_password"}
    assert unknown.account_id is None
    assert unknown.details == {"reason": "unknown_account"}

    text = await _all_rows_text()
    for forbidden in (
        PASSWORD,
        "wrong password!",
        secret,
        new_secret,
        session_cookie,
        "ada@example.com",
        "lovelace@example.com",
        "nobody@example.com",
    ):
        assert forbidden not in text, forbidden


async def test_only_allow_listed_details_are_accepted(client):
    with pytest.raises(ValueError, match="SAFE_DETAILS"):
        await record(AuditEventType.LOG_IN, None, "127.0.0.1", "", password="hunter2")
    assert await AuditEvent.all().count() == 0


async def test_expired_events_are_deleted_in_bulk(client):
    now = datetime.now(UTC)
    old = await record(AuditEventType.LOG_IN, None, "127.0.0.1", "")
    await record(AuditEventType.LOG_OUT, None, "127.0.0.1", "")
    await AuditEvent.filter(id=old.id).update(created_at=now - timedelta(days=366))
    assert await delete_expired_audit_events(now, retention_days=365) == 1
    assert [e.event for e in await AuditEvent.all()] == [AuditEventType.LOG_OUT]
    assert await delete_expired_audit_events(now + timedelta(days=400)) == 1
