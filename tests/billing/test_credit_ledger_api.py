"""me { credits heldCredits }, creditLedger pages, the sign-up grant and the CLI grant."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any

import pytest

from neurall.billing import ledger
from neurall.orm.accounts import Account
from tests.support.factories import create_key, sign_up
from tests.support.ledger import assert_invariants

pytestmark = pytest.mark.usefixtures("database_url")

LEDGER = """
query($first: Int, $after: String) {
  creditLedger(first: $first, after: $after) {
    edges { cursor node { id kind amount balanceAfter heldChange jobId createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ME = "{ me { credits heldCredits } }"


async def page(client: Any, first: int | None = None, after: str | None = None, **kw: Any):
    return (await client.data(LEDGER, {"first": first, "after": after}, **kw))["creditLedger"]


async def test_sign_up_grants_the_configured_credits(client, settings):
    account = await sign_up(client)
    assert (account["credits"], account["heldCredits"]) == (settings.signup_grant_credits, 0)
    [entry] = (await page(client))["edges"]
    assert entry["node"]["kind"] == "GRANT"
    assert entry["node"]["amount"] == entry["node"]["balanceAfter"] == 100
    await assert_invariants(uuid.UUID(account["id"]))


async def test_me_shows_available_and_held_credits(client):
    account = await sign_up(client)
    job = uuid.uuid4()
    await ledger.hold(uuid.UUID(account["id"]), 30, f"job:{job}", job_id=job)
    assert (await client.data(ME))["me"] == {"credits": 70, "heldCredits": 30}
    newest = (await page(client, 1))["edges"][0]["node"]
    assert (newest["kind"], newest["amount"], newest["heldChange"]) == ("HOLD", 0, 30)
    assert newest["jobId"] == str(job)


async def test_ledger_pages_newest_first_with_opaque_cursors(client):
    account = await sign_up(client)
    account_id = uuid.UUID(account["id"])
    for n in range(7):
        await ledger.grant(account_id, n + 1, "test", f"test:{n}")
    seen: list[dict] = []
    after = None
    while True:
        result = await page(client, 3, after)
        seen += [e["node"] for e in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
        assert after == result["edges"][-1]["cursor"]
    assert len(seen) == 8
    assert len({e["id"] for e in seen}) == 8
    assert [e["createdAt"] for e in seen] == sorted((e["createdAt"] for e in seen), reverse=True)
    assert seen[-1]["kind"] == "GRANT"
    assert seen[-1]["balanceAfter"] == 100
    assert seen[0]["balanceAfter"] == 100 + sum(range(1, 8))


async def test_page_size_is_capped_and_bad_cursors_are_rejected(client):
    account = await sign_up(client)
    account_id = uuid.UUID(account["id"])
    for n in range(105):
        await ledger.grant(account_id, 1, "test", f"test:{n}")
    assert len((await page(client, 1000))["edges"]) == 100
    assert len((await page(client))["edges"]) == 50
    body = await client.post(LEDGER, {"first": 5, "after": "not-a-cursor"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_ledger_needs_read_scope_and_shows_only_own_entries(client):
    await sign_up(client, email="a@example.com")
    read_key = await create_key(client, scopes=["READ"])
    generate_key = await create_key(client, scopes=["GENERATE"], name="gen")
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="b@example.com")
    client.http.session.cookie_jar.clear()
    assert len((await page(client, api_key=read_key))["edges"]) == 1
    body = await client.post(LEDGER, {}, api_key=generate_key)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await client.post(LEDGER, {})
    assert body["errors"][0]["extensions"]["code"] == "NOT_AUTHENTICATED"


async def neurall_cli(settings: Any, *args: str) -> tuple[int, str]:
    """The real ``neurall`` command in its own process (it opens its own database)."""
    env = {
        **os.environ,
        "NEURALL_DATABASE_URL": settings.database_url,
        "NEURALL_DATA_DIR": str(settings.data_dir),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "neurall.cli",
        "--log-level",
        "WARNING",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_cli_grants_credits(client, settings):
    await sign_up(client, email="ops@example.com")
    grant = ["credits", "grant", "OPS@example.com", "25", "--reason", "ticket 12"]
    assert await neurall_cli(settings, *grant) == (0, "granted 25 credits; 125 now available\n")
    code, out = await neurall_cli(settings, *grant, "--reference", "t-12")
    assert (code, out) == (0, "granted 25 credits; 150 now available\n")
    code, out = await neurall_cli(settings, *grant, "--reference", "t-12")
    assert (code, out) == (0, "already granted under this reference; 150 available\n")
    account = await Account.get(email="ops@example.com")
    assert account.balance == 150
    await assert_invariants(account.id)
    code, out = await neurall_cli(
        settings, "credits", "grant", "x@example.com", "5", "--reason", "x"
    )
    assert code == 1
    assert "No account" in out
