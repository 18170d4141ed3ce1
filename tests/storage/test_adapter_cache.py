"""Clone weights on an inference host: fetched from the bucket by key into a local cache
bounded by bytes (least recently used out), pruned of deleted clones' weights."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurall.clones.store import adapter_files
from neurall.config import load_settings
from neurall.gpu.adapter_files import CachedAdapterFiles, DirectoryAdapterFiles
from neurall.gpu.types import InferenceError, InferenceUnavailable
from neurall.storage.blocking import BlockingReader
from neurall.storage.s3 import S3Location, S3Storage
from tests.support.ports import free_port
from tests.support.s3 import S3Bucket

SIZE = 400


@pytest.fixture
def reader(s3_bucket: S3Bucket) -> Iterator[BlockingReader]:
    reader = BlockingReader(lambda: S3Storage(S3Location.parse(s3_bucket.url)))
    yield reader
    reader.close()


@pytest.fixture
def weights(s3_bucket: S3Bucket) -> dict[str, bytes]:
    """Three adapters in the bucket, as training stores them."""
    stored = {f"adapters/{name}.safetensors": os.urandom(SIZE) for name in "abc"}
    client = s3_bucket.client()
    for key, data in stored.items():
        client.put_object(Bucket=s3_bucket.name, Key=s3_bucket.object_key(key), Body=data)
    return stored


def _cache(reader: BlockingReader, root: Path, max_bytes: int) -> CachedAdapterFiles:
    return CachedAdapterFiles(reader, root, max_bytes, prune_interval_s=None)


def test_fetched_once_then_served_from_disk(reader, weights, tmp_path, s3_bucket):
    cache = _cache(reader, tmp_path / "cache", 10 * SIZE)
    path = cache.local_path("adapters/a.safetensors")
    assert path.read_bytes() == weights["adapters/a.safetensors"]
    assert path.parent == tmp_path / "cache"
    # Served from the cache from now on: even with the object replaced in the bucket (the
    # store never rewrites an adapter), the same file answers.
    client = s3_bucket.client()
    client.put_object(Bucket=s3_bucket.name, Key="neurall/adapters/a.safetensors", Body=b"new")
    assert cache.local_path("adapters/a.safetensors").read_bytes() == path.read_bytes()


def test_bounded_by_bytes_least_recently_used_out(reader, weights, tmp_path):
    cache = _cache(reader, tmp_path / "cache", 2 * SIZE + SIZE // 2)  # room for two
    a = cache.local_path("adapters/a.safetensors")
    cache.local_path("adapters/b.safetensors")
    cache.local_path("adapters/a.safetensors")  # a is now the most recent
    cache.local_path("adapters/c.safetensors")  # evicts b
    assert cache.cached_keys() == ["adapters/a.safetensors", "adapters/c.safetensors"]
    assert cache.cached_bytes == 2 * SIZE
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert a.exists()
    again = cache.local_path("adapters/b.safetensors")  # fetched again; a goes
    assert again.read_bytes() == weights["adapters/b.safetensors"]
    assert cache.cached_keys() == ["adapters/c.safetensors", "adapters/b.safetensors"]
    assert not a.exists()


def test_an_adapter_larger_than_the_cache_is_still_served(reader, weights, tmp_path):
    cache = _cache(reader, tmp_path / "cache", SIZE // 2)
    cache.local_path("adapters/a.safetensors")
    path = cache.local_path("adapters/b.safetensors")
    assert cache.cached_keys() == ["adapters/b.safetensors"]
    assert path.read_bytes() == weights["adapters/b.safetensors"]


def test_missing_bad_and_unreachable(reader, weights, tmp_path):
    cache = _cache(reader, tmp_path / "cache", 10 * SIZE)
    with pytest.raises(InferenceError, match="adapter not found"):
        cache.local_path("adapters/missing.safetensors")
    with pytest.raises(InferenceError, match="invalid adapter key"):
        cache.local_path("../adapters/a.safetensors")
    down = BlockingReader(
        lambda: S3Storage(S3Location.parse(f"s3://b?endpoint=http://127.0.0.1:{free_port()}"))
    )
    try:
        with pytest.raises(InferenceUnavailable, match="could not fetch"):
            _cache(down, tmp_path / "down", SIZE).local_path("adapters/a.safetensors")
    finally:
        down.close()


def test_deleted_clones_weights_are_pruned(reader, weights, tmp_path, s3_bucket):
    cache = _cache(reader, tmp_path / "cache", 10 * SIZE)
    kept, deleted = cache.local_path("adapters/a.safetensors"), None
    deleted = cache.local_path("adapters/b.safetensors")
    s3_bucket.client().delete_object(Bucket=s3_bucket.name, Key="neurall/adapters/b.safetensors")
    assert cache.prune() == 1
    assert cache.cached_keys() == ["adapters/a.safetensors"]
    assert kept.exists()
    assert not deleted.exists()


def test_a_new_cache_starts_empty(reader, weights, tmp_path):
    root = tmp_path / "cache"
    _cache(reader, root, 10 * SIZE).local_path("adapters/a.safetensors")
    assert _cache(reader, root, 10 * SIZE).cached_keys() == []
    assert list(root.iterdir()) == []


def test_the_settings_choose_the_adapter_files(tmp_path, s3_bucket):
    local = adapter_files(load_settings(data_dir=tmp_path))
    assert isinstance(local, DirectoryAdapterFiles)
    assert local.root == tmp_path / "storage"
    remote = adapter_files(
        load_settings(data_dir=tmp_path, storage_url=s3_bucket.url, adapter_cache_bytes=1234)
    )
    assert isinstance(remote, CachedAdapterFiles)
    assert remote.max_bytes == 1234
    assert remote.root == tmp_path / "adapter-cache" / str(os.getpid())
    remote.close()
