"""Webhook signing secrets at rest: sealed in the database (SQLite file and write-ahead
log, or a pg_dump), never logged, still signing; and `neurall secrets rotate` reseals them
under a new key, plain ones left by versions before sealing included."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import subprocess
import uuid

import pytest

from neurall import clock
from neurall.orm.webhooks import WebhookEndpoint
from neurall.secrets_at_rest import Keyring
from neurall.webhooks.secret_store import reseal_all, signing_secrets
from tests.support.factories import sign_up
from tests.support.files import database_bytes
from tests.support.processes import NEURALL
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


async def test_rotate_reseals_every_secret_under_the_new_key(client, receiver, settings):
    await sign_up(client)
    first = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    first_id = first["endpoint"]["id"]
    rotated = (await client.data(ROTATE, {"id": first_id}))["rotateWebhookSecret"]
    shown = {
        (first_id, "secret"): rotated["secret"],
        (first_id, "previous_secret"): first["secret"],
    }
    old_key = settings.secret_key.get_secret_value()
    new_key = f"rotated-{uuid.uuid4().hex}"
    # The new key alone opens neither, so resealing with it leaves the row as it was; with
    # the old key listed as previous, both open.
    alone = await reseal_all(Keyring(new_key), clock.now())
    assert (alone.updated, alone.unreadable) == (0, [uuid.UUID(first_id)])
    assert await _opened(Keyring(new_key, [old_key]), shown) == shown

    # A row as versions before sealing wrote it: the whsec_ value itself.
    legacy = await create_endpoint(client, receiver.url, ["CREDITS_LOW"])
    legacy_id = legacy["endpoint"]["id"]
    await WebhookEndpoint.filter(id=legacy_id).update(secret=legacy["secret"])
    shown[(legacy_id, "secret")] = legacy["secret"]
    env = {
        "PATH": os.environ["PATH"],
        "NEURALL_DATA_DIR": str(settings.data_dir),
        "NEURALL_DATABASE_URL": settings.database_url,
        "NEURALL_SECRET_KEY": new_key,
        "NEURALL_PREVIOUS_SECRET_KEYS": old_key,
    }
    command = [*NEURALL, "secrets", "rotate"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 webhook endpoints resealed"), done.stdout
    assert [s for s in shown.values() if s in done.stdout + done.stderr] == []
    # Every secret is sealed under the new key now, so the old one can go.
    assert await _opened(Keyring(new_key), shown) == shown


async def _opened(keyring: Keyring, shown: dict[tuple[str, str], str]) -> dict:
    """The stored secrets that ``shown`` names, opened with ``keyring``."""
    opened = {}
    for endpoint_id, column in shown:
        endpoint = await WebhookEndpoint.get(id=endpoint_id)
        current, *previous = signing_secrets(endpoint, clock.now(), keyring)
        opened[(endpoint_id, column)] = current if column == "secret" else previous[0]
    return opened
