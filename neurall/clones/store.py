"""Where a clone's files live: its temporary photos, and its trained adapter.

Both are in blob storage, shared by every process on every host (a local directory when
embedded, an S3 bucket when distributed):

- photos under ``uploads/clones/<clone id>/<index>.png`` (the temporary area), deleted as
  one prefix when training ends;
- the adapter under ``adapters/<clone id>.safetensors``, written once, when training has
  finished (so it never changes afterwards), and deleted with the clone.

The worker passes the adapter's key to the inference process, which reads it through the
``AdapterFiles`` built by ``adapter_files``: in place when the storage is a local directory,
else through a local cache bounded by NEURALL_ADAPTER_CACHE_BYTES.
"""

from __future__ import annotations

import atexit
import os
import shutil
import uuid
from pathlib import Path

from neurall.config import Settings
from neurall.gpu.adapter_files import AdapterFiles, CachedAdapterFiles, DirectoryAdapterFiles
from neurall.storage import Storage, make_storage
from neurall.storage.blocking import BlockingReader

UPLOADS_PREFIX = "uploads/clones"
ADAPTERS_PREFIX = "adapters"


def upload_prefix(clone_id: uuid.UUID) -> str:
    return f"{UPLOADS_PREFIX}/{clone_id}"


def upload_key(clone_id: uuid.UUID, index: int) -> str:
    return f"{upload_prefix(clone_id)}/{index}.png"


class ModelStore:
    """Trained adapters in storage, by key ("<clone id>.safetensors", as the clone row
    records it); ``storage_key`` is where that is in the storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def key_for(clone_id: uuid.UUID) -> str:
        return f"{clone_id}.safetensors"

    @staticmethod
    def storage_key(key: str) -> str:
        # Keys are built from UUIDs by code, never taken from users; refuse any other shape.
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("invalid model store key")
        return f"{ADAPTERS_PREFIX}/{key}"

    async def exists(self, key: str) -> bool:
        return await self.storage.stat(self.storage_key(key)) is not None

    async def save(self, key: str, path: Path) -> None:
        """Store the adapter file at ``path`` (readers see all of it or nothing)."""
        await self.storage.put_file(self.storage_key(key), path)

    async def delete(self, key: str) -> None:
        await self.storage.delete(self.storage_key(key))


def adapter_files(settings: Settings) -> AdapterFiles:
    """How an inference process of this deployment reads adapters by storage key."""
    if not settings.storage_url:
        return DirectoryAdapterFiles(settings.storage_dir)
    # A directory per process: processes sharing a data directory never evict (or wipe at
    # start) each other's files. The next process with this id wipes a dead one's.
    root = settings.adapter_cache_dir / str(os.getpid())
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return CachedAdapterFiles(
        BlockingReader(lambda: make_storage(settings)), root, settings.adapter_cache_bytes
    )


def adopt_legacy_adapters(settings: Settings) -> int:
    """Move adapters an earlier version kept in ``<data>/adapters/`` into the local storage
    directory, where clones are now read from; how many were moved. Idempotent, and a no-op
    on S3 (upload such files to the bucket's ``adapters/`` prefix instead: docs/storage.md)."""
    legacy = settings.data_dir / ADAPTERS_PREFIX
    if settings.storage_url or not legacy.is_dir():
        return 0
    target = settings.storage_dir / ADAPTERS_PREFIX
    target.mkdir(parents=True, exist_ok=True)
    moved = 0
    for path in legacy.glob("*.safetensors"):
        if not (target / path.name).exists():
            # Same file system (both under the data directory): a rename, never a copy.
            path.rename(target / path.name)
            moved += 1
    return moved
