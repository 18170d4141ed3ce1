"""requestDataExport / dataExport and deleteAccount: the export holds every seeded record;
erasure leaves no personal data, an anonymised ledger that balances, and a free e-mail."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import Tortoise

from neurall.app import SERVICES
from neurall.orm.accounts import Account
from neurall.orm.billing import LedgerEntry
from neurall.orm.clones import Clone, CloneStatus
from neurall.orm.jobs import Job
from neurall.orm.privacy import DataExport, UsageLog
from neurall.retention.sweeper import run_policies
from neurall.storage import make_storage
from tests.support.app import DATA_EXPORT as EXPORT
from tests.support.app import REQUEST_EXPORT as REQUEST
from tests.support.app import fetch, ready_export
from tests.support.factories import create_key, generate, sign_up
from tests.support.files import files_under
from tests.support.graphql import PASSWORD, SIGN_UP
from tests.support.jobs import wait_done
from tests.support.poll import until

pytestmark = pytest.mark.usefixtures("database_url")

DELETE = """
mutation($password: String!) { deleteAccount(password: $password) { __typename
  ... on Deleted { deletedCount } ... on UserError { code } } }
"""
EMAIL, NAME, AGENT = "grace@example.com", "Grace Hopper", "privacy-agent/9"


async def _all_rows() -> list[tuple[str, str]]:
    """Every row of every table as text (what a dump would show)."""
    connection = Tortoise.get_connection("default")
    tables = [
        model._meta.db_table
        for model in Tortoise.apps["neurall"].values()  # type: ignore[union-attr]
    ]
    rows = []
    for table in tables:
        _, result = await connection.execute_query(f'SELECT * FROM "{table}"')
        rows += [(table, str(dict(r))) for r in result]
    return rows


@pytest.mark.parametrize(
    ("database_url", "storage_kind"),
    [("sqlite", "local"), ("postgres", "local"), ("sqlite", "s3")],
    indirect=["database_url"],
)
async def test_export_then_erase(client, settings, storage_kind):
    account = (
        await client.data(
            SIGN_UP,
            {"input": {"email": EMAIL, "password": PASSWORD, "name": NAME}},
            headers={"User-Agent": AGENT},
        )
    )["signUp"]["account"]
    key = await create_key(client)
    job = await wait_done(client, (await generate(client, prompt="export canary"))["id"])
    await wait_done(client, (await generate(client, key, seed=3))["id"], key)
    await client.data("{ me { id } }", api_key=key)
    clone = await Clone.create(
        account_id=account["id"], name="Grace's face", trigger_word="gh", image_count=3,
        total_steps=10, status=CloneStatus.READY, source_images_deleted=True,
    )  # fmt: skip

    export = await ready_export(client)
    assert export["url"].endswith(f"/exports/{export['id']}")
    status, body = await fetch(client, export["url"])
    assert status == 200
    archive = zipfile.ZipFile(io.BytesIO(body))
    docs = {n: json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")}
    assert docs["account.json"]["email"] == EMAIL
    assert docs["account.json"]["name"] == NAME
    (exported_key,) = docs["api_keys.json"]
    assert not any("hash" in k or "secret" in k for k in exported_key)
    ledger = await LedgerEntry.filter(account_id=account["id"]).values_list("id", flat=True)
    assert {e["id"] for e in docs["ledger.json"]} == {str(i) for i in ledger}
    (item,) = docs["history.json"]
    assert item["id"] == job["id"]
    assert item["params"]["prompt"] == "export canary"
    assert archive.read(item["images"][0]["file"]).startswith(b"\x89PNG")
    assert len(docs["jobs.json"]) == 1
    assert "params" not in docs["jobs.json"][0]
    usage = await UsageLog.filter(account_id=account["id"]).count()
    assert len(docs["usage.json"]) == usage >= 3
    assert {e["event"] for e in docs["audit_events.json"]} >= {"sign_up", "api_key_created"}
    assert [c["id"] for c in docs["clones.json"]] == [str(clone.id)]

    # Only its owner's session can read or download it.
    cookies = list(client.http.session.cookie_jar)
    assert (await fetch(client, export["url"], key))[0] == 404
    client.http.session.cookie_jar.clear()
    assert (await fetch(client, export["url"]))[0] == 404
    await sign_up(client, email="other@example.com")
    assert (await client.data(EXPORT, {"id": export["id"]}))["dataExport"] is None
    assert (await fetch(client, export["url"]))[0] == 404
    client.http.session.cookie_jar.clear()
    for cookie in cookies:
        client.http.session.cookie_jar.update_cookies({cookie.key: cookie.value})

    wrong = (await client.data(DELETE, {"password": "not it at all"}))["deleteAccount"]
    assert wrong["code"] == "INVALID_INPUT"
    assert (await client.data(DELETE, {"password": PASSWORD}))["deleteAccount"] == {
        "__typename": "Deleted",
        "deletedCount": 1,
    }
    assert (await client.data("{ me { id } }"))["me"] is None
    assert (await client.post("{ me { id } }", api_key=key))["data"]["me"] is None

    rows = await _all_rows()
    personal = [EMAIL, NAME, AGENT, "export canary", "Grace's face"]
    assert [(t, p) for t, row in rows for p in personal if p in row] == []
    # The IP is everyone's here (127.0.0.1): no row linked to the erased account holds it.
    ours = [(t, row) for t, row in rows if account["id"] in row]
    assert ours
    assert [(t, row) for t, row in ours if "127.0.0.1" in row] == []
    erased = await Account.get(id=account["id"])
    assert erased.email is None
    assert erased.name is None
    assert erased.erased_at is not None
    entries = await LedgerEntry.filter(account_id=erased.id)
    assert entries
    assert sum(e.amount for e in entries) == erased.balance
    assert sum(e.held_change for e in entries) == erased.held == 0
    assert await Job.filter(account_id=erased.id).count() == 0
    assert await Clone.filter(account_id=erased.id).count() == 0
    assert await DataExport.filter(account_id=erased.id).count() == 0
    storage = client.http.app[SERVICES].storage
    for prefix in ("images", "exports", "uploads", "adapters"):
        assert await storage.list_objects(prefix) == [], prefix
    if storage_kind == "local":
        assert files_under(settings.storage_dir) == []
    else:
        assert settings.storage_url
        assert not settings.storage_dir.exists()
    # The same address can sign up again, as a new account.
    client.http.session.cookie_jar.clear()
    again = await sign_up(client, email=EMAIL)
    assert again["id"] != account["id"]


async def test_exports_expire_and_are_rate_limited(client, settings):
    await sign_up(client)
    export = await ready_export(client)
    for _ in range(settings.exports_per_day_per_account - 1):
        assert (await client.data(REQUEST))["requestDataExport"]["__typename"] == "DataExport"
    limited = (await client.data(REQUEST))["requestDataExport"]
    assert limited["code"] == "RATE_LIMITED"
    assert limited["retryAfterSeconds"] > 0
    key = await create_key(client)
    refused = (await client.data(REQUEST, api_key=key))["requestDataExport"]
    assert refused["code"] == "NOT_AUTHENTICATED"

    await until(  # let the worker build them all
        lambda: DataExport.filter(status="PENDING").exists(),
        lambda pending: not pending,
        within=20,
        every=0.05,
        what="every export being built",
    )
    later = datetime.now(UTC) + timedelta(seconds=settings.export_ttl_s + 1)
    removed = await run_policies(settings, make_storage(settings), now=later)
    assert removed["expired-exports"] >= 1
    gone = (await client.data(EXPORT, {"id": export["id"]}))["dataExport"]
    assert gone["status"] == "EXPIRED"
    assert gone["url"] is None
    assert (await fetch(client, export["url"]))[0] == 404
    assert files_under(settings.storage_dir / "exports") == []


async def test_guessing_the_password_to_erase_is_throttled(client, settings):
    await sign_up(client, email=EMAIL)
    for n in range(settings.login_failures_per_email):
        wrong = (await client.data(DELETE, {"password": f"wrong guess {n}"}))["deleteAccount"]
        assert wrong["code"] == "INVALID_INPUT"
    # Past the limit even the right password is refused for now: guessing gains nothing.
    refused = await client.post(
        DELETE.replace("{ code }", "{ code message }"), {"password": PASSWORD}
    )
    assert "Too many wrong passwords" in refused["data"]["deleteAccount"]["message"]
    assert (await Account.get(email=EMAIL)).erased_at is None
