"""Erasure: an account's waiting events and queued mail go with it, so nothing it did is
reacted to afterwards (a notice to an address no longer on file, a webhook of the
erasure's own cancellations)."""

from __future__ import annotations

import pytest

from neurall import events
from neurall.orm.accounts import Account
from neurall.orm.events import DomainEvent
from neurall.orm.mail import OutboxMessage
from tests.support.factories import sign_up
from tests.support.graphql import PASSWORD

pytestmark = pytest.mark.usefixtures("database_url")

DELETE = """
mutation($password: String!) { deleteAccount(password: $password) { __typename } }
"""


async def test_erasure_deletes_the_accounts_waiting_events_and_mail(client):
    created = await sign_up(client, email="erased@example.com")
    account = await Account.get(id=created["id"])
    # Outside an ``announcing`` block: the relay is woken only seconds later.
    await events.record(
        events.EventType.PASSWORD_CHANGED, subject_id=account.id, account_id=account.id
    )
    assert await DomainEvent.filter(account_id=account.id).exists()
    deleted = await client.data(DELETE, {"password": PASSWORD})
    assert deleted["deleteAccount"]["__typename"] == "Deleted"
    # The delayed wake-up finds nothing to relay.
    assert await DomainEvent.filter(account_id=account.id).count() == 0
    assert await OutboxMessage.filter(account_id=account.id).count() == 0
    assert await OutboxMessage.filter(to_address="erased@example.com").count() == 0
