"""Per-request limits per API key and per account (neurall.graphql.limits)."""

from __future__ import annotations

import uuid

import pytest

from neurall.config import load_settings
from neurall.errors import RateLimitedError
from neurall.ratelimit import RateLimits
from tests.support.factories import create_key, sign_up

ME = "{ me { id } }"


def _limited(body: dict) -> bool:
    errors = body.get("errors") or []
    return any(e.get("extensions", {}).get("code") == "RATE_LIMITED" for e in errors)


async def test_each_api_key_has_its_own_bucket(make_client):
    client = await make_client(requests_per_minute_per_api_key=3)
    await sign_up(client)
    first = await create_key(client, ["READ"], name="one")
    second = await create_key(client, ["READ"], name="two")
    for _ in range(3):
        assert not _limited(await client.post(ME, api_key=first))
    body = await client.post(ME, api_key=first)
    assert _limited(body)
    assert body["data"] is None  # nothing ran
    assert body["errors"][0]["extensions"]["retryAfterSeconds"] > 0
    assert not _limited(await client.post(ME, api_key=second))


async def test_the_account_bucket_covers_sessions_and_keys(make_client):
    # sign-up itself is anonymous; then: createApiKey, me (session), me (key) fill 3.
    client = await make_client(requests_per_minute_per_account=3)
    await sign_up(client)
    key = await create_key(client, ["READ"])
    assert not _limited(await client.post(ME))
    assert not _limited(await client.post(ME, api_key=key))
    assert _limited(await client.post(ME))
    assert _limited(await client.post(ME, api_key=key))


async def test_anonymous_requests_are_not_counted(make_client):
    client = await make_client(requests_per_minute_per_account=1, requests_per_minute_per_api_key=1)
    for _ in range(5):
        body = await client.post(ME)
        assert body["data"]["me"] is None


async def test_operation_limits_for_resolvers_to_take(tmp_path):
    limits = RateLimits.from_settings(
        load_settings(data_dir=tmp_path, generates_per_minute_per_account=2)
    )
    account = uuid.uuid4()
    await limits.generate.take(account)
    await limits.generate.take(account)
    with pytest.raises(RateLimitedError) as limited:
        await limits.generate.take(account)
    assert limited.value.retry_after_s > 0
    await limits.generate.take(uuid.uuid4())  # other accounts are unaffected
    await limits.create_clone.take(account)  # separate limits do not share buckets
