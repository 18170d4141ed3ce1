"""API results are deleted after the first full fetch or the TTL; usage logs record each
API-key operation (never its variables) and add up per day."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from neurall.orm.jobs import JobImage
from neurall.orm.privacy import UsageLog
from neurall.retention.sweeper import run_policies
from neurall.storage import make_storage
from tests.support.app import fetch, flush_usage
from tests.support.factories import create_key, generate, sign_up
from tests.support.files import files_under
from tests.support.graphql import GENERATE, JOB
from tests.support.jobs import wait_done

pytestmark = pytest.mark.usefixtures("database_url")

USAGE = """
query($since: DateTime!, $until: DateTime) {
  usage(since: $since, until: $until) { day requests images credits }
}
"""
CANARY = "usage-canary-7f3a"


async def test_api_result_goes_after_first_fetch_or_ttl(client, settings):
    await sign_up(client)
    key = await create_key(client)
    fetched = await wait_done(client, (await generate(client, key, seed=1))["id"], key)
    never = await wait_done(client, (await generate(client, key, seed=2))["id"], key)
    images_dir = settings.storage_dir / "images"
    assert len(files_under(images_dir)) == 2

    status, body = await fetch(client, fetched["images"][0]["url"], key)
    assert status == 200
    assert body.startswith(b"\x89PNG")
    assert (await fetch(client, fetched["images"][0]["url"], key))[0] == 404
    assert (await client.data(JOB, {"id": fetched["id"]}, api_key=key))["job"]["images"] == []
    assert not any(fetched["id"] in str(p) for p in files_under(images_dir))

    # Not fetched: still there until its TTL, then the sweep removes row and file.
    assert len((await client.data(JOB, {"id": never["id"]}, api_key=key))["job"]["images"]) == 1
    later = datetime.now(UTC) + timedelta(seconds=settings.api_image_ttl_s + 1)
    removed = await run_policies(settings, make_storage(settings), now=later)
    assert removed["expired-api-results"] == 1
    assert await JobImage.all().count() == 0
    assert files_under(images_dir) == []
    assert (await client.data(JOB, {"id": never["id"]}, api_key=key))["job"]["images"] == []


async def test_usage_logs_each_api_call_without_its_variables(client, settings):
    await sign_up(client)
    key = await create_key(client)
    await client.data("{ me { id } }")  # a session: not API usage
    start = datetime.now(UTC) - timedelta(minutes=1)
    job = await generate(client, key, prompt=CANARY, numImages=2)
    await client.data(JOB, {"id": job["id"]}, api_key=key)
    bad = await client.post("{ nope }", api_key=key)
    assert bad["errors"]
    await client.data("{ me { id } }", api_key=key, headers={"User-Agent": "agent/1.0"})

    await flush_usage(client)
    rows = await UsageLog.all().order_by("created_at")
    assert [r.operation for r in rows] == ["generate", "job", "(invalid)", "me"]
    assert [r.status for r in rows] == ["ok", "ok", "error", "ok"]
    assert rows[0].ledger_reference == f"job:{job['id']}"
    assert rows[0].images == 2
    assert rows[3].user_agent == "agent/1.0"
    assert rows[3].ip
    assert {r.api_key_id for r in rows} == {rows[0].api_key_id} != {None}
    for row in await UsageLog.all().values():
        assert CANARY not in str(row)

    done = await wait_done(client, job["id"], key)
    await flush_usage(client)
    logged = await UsageLog.all().count()  # wait_done's job queries count too
    days = (await client.data(USAGE, {"since": start.isoformat()}, api_key=key))["usage"]
    assert days == [
        {
            "day": datetime.now(UTC).date().isoformat(),
            "requests": logged,
            "images": 2,
            "credits": done["costCredits"],  # what was charged, not what was held
        }
    ]
    until = (start - timedelta(days=1)).isoformat()
    bad_range = await client.post(USAGE, {"since": start.isoformat(), "until": until})
    assert bad_range["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    # Kept for NEURALL_USAGE_RETENTION_DAYS, then swept.
    await flush_usage(client)
    later = datetime.now(UTC) + timedelta(days=settings.usage_retention_days, minutes=1)
    removed = await run_policies(settings, make_storage(settings), now=later)
    assert removed["usage-logs"] >= 5
    assert await UsageLog.all().count() == 0


async def test_a_malformed_request_is_not_logged_with_its_prompt(client, caplog):
    await sign_up(client)
    key = await create_key(client)
    caplog.set_level(logging.DEBUG)
    variables = {"input": {"prompt": CANARY, "bogus": 1}}
    body = await client.post(GENERATE, variables, api_key=key)
    assert body["errors"]
    assert CANARY not in caplog.text
    await flush_usage(client)
    assert await UsageLog.filter(operation="(invalid)").count() == 1
