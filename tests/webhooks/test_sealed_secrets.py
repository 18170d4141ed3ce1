"""Webhook signing secrets at rest: sealed in the database (SQLite file and write-ahead
log, or a pg_dump), never logged, still signing."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.support.factories import sign_up
from tests.support.files import database_bytes
from tests.support.webhooks import ROTATE, SEND_TEST, create_endpoint

pytestmark = pytest.mark.usefixtures("database_url")


def _needles(secret: str) -> list[bytes]:
    """The secret as shown, its base64 part, and the raw key bytes it encodes."""
    encoded = secret.removeprefix("whsec_")
    return [secret.encode(), encoded.encode(), base64.b64decode(encoded)]


async def test_secrets_are_stored_sealed_never_logged_and_still_sign(
    client, receiver, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    await sign_up(client)
    created = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    endpoint_id = created["endpoint"]["id"]
    rotated = (await client.data(ROTATE, {"id": endpoint_id}))["rotateWebhookSecret"]
    shown = [created["secret"], rotated["secret"]]
    receiver.secrets = shown
    await client.data(SEND_TEST, {"id": endpoint_id})
    (delivery,) = await receiver.wait_for(1)
    assert delivery.verified_with == shown  # the new secret and, for a day, the old one

    places = database_bytes(settings.database_url)
    if settings.database_url.startswith("sqlite://"):
        assert any(where.endswith("-wal") for where in places), places.keys()
    needles = [n for secret in shown for n in _needles(secret)]
    assert [where for where, data in places.items() for n in needles if n in data] == []
    assert [s for s in shown if s in caplog.text] == []
