"""history, deleteHistoryItem, clearHistory: playground jobs kept until deleted."""

from __future__ import annotations

import pytest

from neurall.orm.jobs import Job, JobImage
from tests.support.app import fetch
from tests.support.factories import create_key, generate, sign_up
from tests.support.files import files_under
from tests.support.graphql import CLEAR, DELETE_ITEM, HISTORY
from tests.support.jobs import wait_done

pytestmark = pytest.mark.usefixtures("database_url")


async def test_history_pages_newest_first_and_deletes_images(client, settings):
    await sign_up(client)
    key = await create_key(client)
    jobs = []
    for seed in (1, 2, 3):
        job = await generate(client, prompt=f"history canary {seed}", seed=seed)
        jobs.append(await wait_done(client, job["id"]))
    api_job = await generate(client, key)  # API jobs are not history
    await wait_done(client, api_job["id"], key)

    first = (await client.data(HISTORY, {"first": 2}))["history"]
    assert [e["node"]["id"] for e in first["edges"]] == [jobs[2]["id"], jobs[1]["id"]]
    assert first["pageInfo"]["hasNextPage"] is True
    node = first["edges"][0]["node"]
    assert node["job"]["params"] == {"prompt": "history canary 3", "seed": 3}
    assert node["job"]["images"][0]["expiresAt"] is None
    rest = (await client.data(HISTORY, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "history"
    ]
    assert [e["node"]["id"] for e in rest["edges"]] == [jobs[0]["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False
    bad = await client.post(HISTORY, {"after": "garbage"})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

    # Playground images can be fetched again and again.
    url = node["job"]["images"][0]["url"]
    assert (await fetch(client, url))[0] == 200
    assert (await fetch(client, url))[0] == 200
    images_dir = settings.storage_dir / "images"
    assert any(jobs[2]["id"] in str(p) for p in files_under(images_dir))

    deleted = (await client.data(DELETE_ITEM, {"id": jobs[2]["id"]}))["deleteHistoryItem"]
    assert deleted == {"__typename": "Deleted", "deletedCount": 1}
    assert (await fetch(client, url))[0] == 404
    assert not any(jobs[2]["id"] in str(p) for p in files_under(images_dir))
    assert await Job.filter(id=jobs[2]["id"]).count() == 0
    again = (await client.data(DELETE_ITEM, {"id": jobs[2]["id"]}))["deleteHistoryItem"]
    assert again["code"] == "NOT_FOUND"
    # An API job is no history item, even its owner's.
    api = (await client.data(DELETE_ITEM, {"id": api_job["id"]}))["deleteHistoryItem"]
    assert api["code"] == "NOT_FOUND"

    cleared = (await client.data(CLEAR))["clearHistory"]
    assert cleared == {"__typename": "Deleted", "deletedCount": 2}
    assert (await client.data(HISTORY))["history"]["edges"] == []
    remaining = {str(p.relative_to(images_dir)).split("/")[0] for p in files_under(images_dir)}
    assert remaining <= {api_job["id"]}
    assert await JobImage.filter(job__source="PLAYGROUND").count() == 0


async def test_another_accounts_history_is_invisible(client):
    await sign_up(client, email="b@example.com")
    job = await generate(client, prompt="b's secret")
    await wait_done(client, job["id"])
    client.http.session.cookie_jar.clear()
    await sign_up(client, email="a@example.com")
    assert (await client.data(HISTORY))["history"]["edges"] == []
    result = (await client.data(DELETE_ITEM, {"id": job["id"]}))["deleteHistoryItem"]
    assert result["code"] == "NOT_FOUND"
    assert (await client.data(CLEAR))["clearHistory"]["deletedCount"] == 0
    assert await Job.filter(id=job["id"]).count() == 1


async def test_deleting_a_running_job_settles_its_credits(client):
    await sign_up(client)
    before = (await client.data("{ me { credits } }"))["me"]["credits"]
    job = await generate(client, steps=60)
    result = (await client.data(DELETE_ITEM, {"id": job["id"]}))["deleteHistoryItem"]
    assert result["deletedCount"] == 1
    me = (await client.data("{ me { credits heldCredits } }"))["me"]
    assert me["heldCredits"] == 0
    assert me["credits"] <= before
