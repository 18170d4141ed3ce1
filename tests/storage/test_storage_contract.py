"""The storage interface's contract, run on both implementations: the local directory and
an S3 bucket on a real S3 API server (moto's, on loopback; tests/support/s3.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from neurall.cli import main
from neurall.config import SettingsError, load_settings
from neurall.storage import LocalStorage, Storage, download, make_storage
from neurall.storage.s3 import PART_BYTES, S3Location, S3Storage
from tests.support.s3 import S3Bucket

CHUNK = 64 * 1024


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    store: Storage
    if request.param == "local":
        store = LocalStorage(tmp_path / "storage", chunk_bytes=CHUNK)
    else:
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        store = S3Storage(S3Location.parse(bucket.url), chunk_bytes=CHUNK)
    yield store
    await store.close()


async def test_put_get_replace_and_missing(storage: Storage):
    assert await storage.get("images/a/0.png") is None
    await storage.put("images/a/0.png", b"one")
    assert await storage.get("images/a/0.png") == b"one"
    await storage.put("images/a/0.png", b"two")  # a retry replaces
    assert await storage.get("images/a/0.png") == b"two"
    assert await storage.open("images/a/1.png") is None
    assert await storage.stat("images/a/1.png") is None
    assert await storage.get("images/a") is None  # a "folder" is no object


async def test_stat(storage: Storage):
    before = datetime.now(UTC) - timedelta(seconds=5)
    await storage.put("exports/e.zip", b"x" * 1234)
    found = await storage.stat("exports/e.zip")
    assert found is not None
    assert (found.key, found.size) == ("exports/e.zip", 1234)
    assert found.modified_at.tzinfo is not None
    assert found.modified_at >= before


async def test_open_streams_in_chunks(storage: Storage):
    data = os.urandom(3 * CHUNK + 17)
    await storage.put("images/big/0.png", data)
    stream = await storage.open("images/big/0.png")
    assert stream is not None
    async with stream:
        assert stream.size == len(data)
        chunks = [chunk async for chunk in stream]
    assert b"".join(chunks) == data
    assert len(chunks) >= 4
    assert max(map(len, chunks)) <= CHUNK


async def test_a_stream_closed_early_frees_its_reader(storage: Storage):
    await storage.put("images/c/0.png", os.urandom(4 * CHUNK))
    for _ in range(3):  # each early close gives its file or connection back
        stream = await storage.open("images/c/0.png")
        assert stream is not None
        async with stream:
            async for _chunk in stream:
                break
    assert await storage.get("images/c/0.png") is not None


@pytest.mark.parametrize("size", [1000, PART_BYTES + 1])  # one PUT; a multipart upload
async def test_put_file_and_download(storage: Storage, tmp_path: Path, size: int):
    source = tmp_path / "adapter.safetensors"
    source.write_bytes(os.urandom(size))
    await storage.put_file("adapters/c.safetensors", source)
    target = tmp_path / "copy" / "c.safetensors"
    assert await download(storage, "adapters/c.safetensors", target)
    assert target.read_bytes() == source.read_bytes()
    assert not await download(storage, "adapters/missing.safetensors", tmp_path / "none")
    assert not (tmp_path / "none").exists()
    assert [p.name for p in target.parent.iterdir()] == ["c.safetensors"]  # no leftovers


async def test_delete_and_delete_prefix(storage: Storage):
    for key in ("uploads/clones/a/0.png", "uploads/clones/a/1.png", "uploads/clones/ab/0.png"):
        await storage.put(key, b"photo")
    await storage.delete("uploads/clones/a/0.png")
    await storage.delete("uploads/clones/a/0.png")  # deleting twice is fine
    assert await storage.get("uploads/clones/a/0.png") is None
    assert await storage.delete_prefix("uploads/clones/a") == 1
    assert await storage.delete_prefix("uploads/clones/a") == 0
    # A prefix is a folder: its sibling "ab" is untouched.
    assert await storage.get("uploads/clones/ab/0.png") == b"photo"


async def test_delete_many(storage: Storage):
    keys = [f"images/d/{index}.png" for index in range(5)]
    for key in keys:
        await storage.put(key, b"x")
    await storage.delete_many([*keys[:3], "images/d/missing.png"])
    await storage.delete_many([])
    assert sorted(o.key for o in await storage.list_objects("images/d")) == keys[3:]


async def test_list_objects(storage: Storage):
    await storage.put("images/j1/0.png", b"12")
    await storage.put("images/j2/0.png", b"345")
    await storage.put("imagesx/j3/0.png", b"6")
    await storage.put("exports/e.zip", b"7")
    found = sorted(await storage.list_objects("images"), key=lambda o: o.key)
    assert [(o.key, o.size) for o in found] == [("images/j1/0.png", 2), ("images/j2/0.png", 3)]
    assert all(o.modified_at.tzinfo is not None for o in found)
    assert await storage.list_objects("nothing") == []


async def test_many_objects_list_and_delete_in_batches(storage: Storage):
    for index in range(30):
        await storage.put(f"images/many/{index}.png", b"x")
    assert len(await storage.list_objects("images/many")) == 30
    assert await storage.delete_prefix("images/many") == 30
    assert await storage.list_objects("images") == []


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "../x", "a/./b"])
async def test_bad_keys_are_refused(storage: Storage, key: str):
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put(key, b"x")


async def test_closed_storage_reconnects(storage: Storage):
    await storage.put("images/r/0.png", b"before")
    await storage.close()
    assert await storage.get("images/r/0.png") == b"before"


async def test_s3_keys_live_under_the_url_prefix(s3_bucket: S3Bucket):
    storage = S3Storage(S3Location.parse(s3_bucket.url))
    try:
        await storage.put("images/p/0.png", b"x")
        assert s3_bucket.keys() == ["neurall/images/p/0.png"]
        assert [o.key for o in await storage.list_objects("images")] == ["images/p/0.png"]
    finally:
        await storage.close()


def test_make_storage_follows_the_settings(tmp_path: Path, s3_bucket: S3Bucket):
    # Either is wrapped to count its failures for the metrics.
    local = make_storage(load_settings(data_dir=tmp_path)).inner  # type: ignore[attr-defined]
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "storage"
    remote = make_storage(load_settings(data_dir=tmp_path, storage_url=s3_bucket.url)).inner  # type: ignore[attr-defined]
    assert isinstance(remote, S3Storage)
    assert remote.location.bucket == s3_bucket.name
    with pytest.raises(SettingsError, match="NEURALL_STORAGE_URL: unknown parameter"):
        make_storage(load_settings(data_dir=tmp_path, storage_url="s3://b?colour=red"))


def test_a_bad_storage_url_stops_a_command_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NEURALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEURALL_STORAGE_URL", "s3://bucket?endpoint=ftp://host")
    with pytest.raises(SystemExit) as stopped:
        main(["retention", "run"])
    assert str(stopped.value) == "NEURALL_STORAGE_URL: endpoint must be an http:// or https:// URL"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://b", S3Location("b")),
        ("s3://b/p/q/", S3Location("b", "p/q/")),
        (
            "s3://b/p?endpoint=http://127.0.0.1:9000&region=eu-west-1",
            S3Location("b", "p/", "http://127.0.0.1:9000", "eu-west-1", "path"),
        ),
        (
            "s3://b?endpoint=https://s3.example.com&addressing=virtual",
            S3Location("b", "", "https://s3.example.com", None, "virtual"),
        ),
    ],
)
def test_s3_urls(url: str, expected: S3Location):
    assert S3Location.parse(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://b/p", "must look like"),
        ("s3:///p", "must look like"),
        ("s3://key:secret@b/p", "credentials do not belong"),
        ("s3://b?endpoint=ftp://x", "endpoint must be"),
        ("s3://b?addressing=sideways", "addressing must be"),
        ("s3://b/a/../c", "invalid storage key"),
    ],
)
def test_bad_s3_urls(url: str, problem: str):
    with pytest.raises(ValueError, match=problem):
        S3Location.parse(url)
