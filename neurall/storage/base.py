"""The storage interface: opaque keys ("images/<job>/<n>.png") to bytes.

Two implementations share it: a local directory (the embedded default) and an S3-compatible
bucket (neurall.storage.s3), so every process on every host sees the same objects. Keys are
built by code from UUIDs, never taken from users; ``check_key`` refuses any other shape in
both implementations alike.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

# What one read of a streamed object returns at most: large enough to keep per-chunk costs
# small, small enough that a download holds little memory per client.
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime  # UTC
    size: int


class ObjectStream:
    """An object being read: its size and its bytes in chunks, never all at once.

    Iterate it (``async for chunk in stream``) and close it (``async with`` does), which frees
    the file or the connection even when the reader stops early.
    """

    def __init__(
        self, size: int, chunks: AsyncIterator[bytes], close: Callable[[], Awaitable[None]]
    ) -> None:
        self.size = size
        self._chunks = chunks
        self._close = close

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def close(self) -> None:
        await self._close()

    async def __aenter__(self) -> ObjectStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def check_key(key: str) -> str:
    """``key`` if it is a well-formed key ("a/b/c": no empty, "." or ".." part), else
    ValueError: a bad key is a bug, and must not reach a path or a bucket."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError("invalid storage key")
    return key


@runtime_checkable
class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there (so retries are safe).
        Readers never see a partly written object."""

    async def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key`` without reading it into memory whole."""

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None when there are none (for small objects)."""

    async def open(self, key: str) -> ObjectStream | None:
        """Start reading ``key`` in chunks; None when there is no such object."""

    async def stat(self, key: str) -> StoredObject | None:
        """The object's size and age without reading it; None when there is none."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove every key of ``keys`` (in as few calls as the store allows); missing ones
        are not an error."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key under ``prefix`` (a "folder"); returns how many went."""

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        """Every key under ``prefix`` with its age and size (for the retention sweeps)."""

    async def close(self) -> None:
        """Release connections; the storage may be used again afterwards (it reconnects)."""


async def download(storage: Storage, key: str, path: Path) -> bool:
    """Copy the object under ``key`` to the file ``path``, chunk by chunk; False when there is
    none. The file appears whole or not at all (written beside it, then renamed)."""
    stream = await storage.open(key)
    if stream is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        async with stream:
            handle = await asyncio.to_thread(tmp.open, "wb")
            try:
                async for chunk in stream:
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True
