"""Image and export downloads on both storages: owner-only, an API result deleted after its
first full download, a HEAD deleting nothing, and bytes streamed from the store in chunks
(a file of several chunks arrives intact, and the whole-object read is never used)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from neurall.app import SERVICES
from neurall.clock import now
from neurall.config import Settings, load_settings
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.orm.privacy import DataExport, ExportStatus
from neurall.storage import Storage
from neurall.storage.base import CHUNK_BYTES
from tests.support.factories import create_key, sign_up

# What is tested is the storage under the routes, not the database: SQLite is enough.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# Several of the store's chunks, and not a whole number of them.
BODY = b"\x89PNG\r\n\x1a\n" + os.urandom(3 * CHUNK_BYTES + 1234)


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    extra: dict[str, object] = {}
    if request.param == "s3":
        extra["storage_url"] = request.getfixturevalue("s3_bucket").url
    return load_settings(data_dir=tmp_path / "data", database_url=database_url, **extra)


def _storage(client: Any) -> Storage:
    return client.http.app[SERVICES].storage


@pytest.fixture
def streaming_only(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads must not read a whole object into memory: the full read fails the test."""

    async def whole(key: str) -> bytes | None:
        raise AssertionError("a download read a whole object")

    monkeypatch.setattr(_storage(client), "get", whole)


async def _image(client: Any, account_id: str, *, api: bool) -> JobImage:
    job = await Job.create(
        account_id=account_id, source=JobSource.API if api else JobSource.PLAYGROUND,
        status=JobStatus.SUCCEEDED, total_steps=1, num_images=1,
    )  # fmt: skip
    key = f"images/{job.id}/0.png"
    await _storage(client).put(key, BODY)
    return await JobImage.create(
        job_id=job.id, index=0, storage_key=key, width=8, height=8, seed=1,
        expires_at=now() + timedelta(minutes=15) if api else None,
    )  # fmt: skip


async def _get(client: Any, path: str, key: str | None = None, method: str = "GET"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await client.http.request(method, path, headers=headers)
    return response.status, response.headers, await response.read()


@pytest.mark.usefixtures("streaming_only")
async def test_an_api_image_streams_once_to_its_owner_only(client):
    owner = await sign_up(client)
    owner_key = await create_key(client)
    await sign_up(client, email="other@example.com")
    other_key = await create_key(client)
    client.http.session.cookie_jar.clear()
    image = await _image(client, owner["id"], api=True)
    path = f"/images/{image.id}"

    for key in (other_key, None):  # someone else's key; nobody
        assert (await _get(client, path, key))[0] == 404
        assert (await _get(client, path, key, "HEAD"))[0] == 404
    status, headers, body = await _get(client, path, owner_key, "HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len(BODY))
    assert headers["Cache-Control"] == "private, no-store"
    # A HEAD delivered nothing, so nothing is deleted.
    assert await _storage(client).stat(image.storage_key) is not None
    assert await JobImage.exists(id=image.id)

    status, headers, body = await _get(client, path, owner_key)
    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert body == BODY
    # The first full download deleted the object and its row. (The server deletes once the
    # last byte is sent; a next request on the connection is served after that.)
    assert (await _get(client, path, owner_key))[0] == 404
    assert await _storage(client).stat(image.storage_key) is None
    assert not await JobImage.exists(id=image.id)


@pytest.mark.usefixtures("streaming_only")
async def test_a_playground_image_stays_after_downloads(client):
    owner = await sign_up(client)
    image = await _image(client, owner["id"], api=False)
    for _ in range(2):
        status, _, body = await _get(client, f"/images/{image.id}")
        assert (status, body) == (200, BODY)
    assert await _storage(client).stat(image.storage_key) is not None


async def test_an_image_whose_object_is_gone_is_not_found(client):
    owner = await sign_up(client)
    image = await _image(client, owner["id"], api=True)
    await _storage(client).delete(image.storage_key)
    for method in ("HEAD", "GET"):
        assert (await _get(client, f"/images/{image.id}", method=method))[0] == 404


@pytest.mark.usefixtures("streaming_only")
async def test_an_export_streams_to_its_owners_session_only(client):
    owner = await sign_up(client)
    key = await create_key(client)
    export = await DataExport.create(
        account_id=owner["id"], status=ExportStatus.READY,
        storage_key=f"exports/{uuid.uuid4()}.zip", size_bytes=len(BODY), ready_at=now(),
        expires_at=now() + timedelta(hours=1),
    )  # fmt: skip
    await _storage(client).put(export.storage_key, BODY)
    path = f"/exports/{export.id}"
    status, headers, body = await _get(client, path, method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len(BODY))
    for _ in range(2):  # kept until it expires
        status, headers, body = await _get(client, path)
        assert (status, body) == (200, BODY)
        assert (
            headers["Content-Disposition"]
            == f'attachment; filename="neurall-export-{export.id}.zip"'
        )
    client.http.session.cookie_jar.clear()
    assert (await _get(client, path, key))[0] == 404  # an API key is not enough
    assert (await _get(client, path))[0] == 404
