"""Storage in a local directory (the data dir by default: the embedded form).

Writes go to a temporary file renamed into place, so a reader on another process never sees
half an image and a worker killed mid-write leaves no truncated file behind. Temporary files
start with a dot and are never listed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from neurall.storage.base import CHUNK_BYTES, ObjectStream, StoredObject, check_key


class LocalStorage:
    def __init__(self, root: Path, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.root = root
        self.chunk_bytes = chunk_bytes

    def path(self, key: str) -> Path:
        """Where ``key`` lives on disk (the embedded GPU pipeline opens adapters here)."""
        return self.root.joinpath(*check_key(key).split("/"))

    def _write(self, key: str, fill: BinaryIO | bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with tmp.open("wb") as handle:
                if isinstance(fill, bytes):
                    handle.write(fill)
                else:
                    shutil.copyfileobj(fill, handle, self.chunk_bytes)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    def _put_file(self, key: str, source: Path) -> None:
        with source.open("rb") as handle:
            self._write(key, handle)

    def _get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def _stat(self, key: str) -> StoredObject | None:
        try:
            stat = self.path(key).stat()
        except FileNotFoundError:
            return None
        if not self.path(key).is_file():
            return None
        return StoredObject(key, datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size)

    def _open(self, key: str) -> tuple[BinaryIO, int] | None:
        try:
            handle = self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None
        return handle, os.fstat(handle.fileno()).st_size

    def _delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _delete_prefix(self, prefix: str) -> int:
        path = self.path(prefix.rstrip("/"))
        if not path.exists():
            return 0
        if path.is_file():
            path.unlink(missing_ok=True)
            return 1
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path, ignore_errors=True)
        return count

    def _list(self, prefix: str) -> list[StoredObject]:
        path = self.path(prefix.rstrip("/"))
        if not path.is_dir():
            return []
        found = []
        for file in path.rglob("*"):
            if file.name.startswith("."):
                continue  # a write in progress
            try:
                stat = file.stat()
            except FileNotFoundError:  # deleted while we looked
                continue
            if file.is_file():
                found.append(
                    StoredObject(
                        key=file.relative_to(self.root).as_posix(),
                        modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                        size=stat.st_size,
                    )
                )
        return found

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._put_file, key, path)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def open(self, key: str) -> ObjectStream | None:
        opened = await asyncio.to_thread(self._open, key)
        if opened is None:
            return None
        handle, size = opened

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await asyncio.to_thread(handle.read, self.chunk_bytes):
                yield chunk

        async def close() -> None:
            await asyncio.to_thread(handle.close)

        return ObjectStream(size, chunks(), close)

    async def stat(self, key: str) -> StoredObject | None:
        return await asyncio.to_thread(self._stat, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    async def delete_many(self, keys: Sequence[str]) -> None:
        def delete_all() -> None:
            for key in keys:
                self._delete(key)

        await asyncio.to_thread(delete_all)

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix, prefix)

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        return await asyncio.to_thread(self._list, prefix)

    async def close(self) -> None:
        return None
