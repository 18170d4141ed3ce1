"""Storage in a local directory (the data dir by default, a shared volume when distributed).

Writes go to a temporary file renamed into place, so a reader on another process never sees
half an image and a worker killed mid-write leaves no truncated file behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from neurall.storage.base import StoredObject


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        # Keys are built by code from UUIDs, never from user input; refuse anything that
        # could climb out of the root all the same.
        if not key or any(p in ("", ".", "..") for p in parts) or key.startswith("/"):
            raise ValueError("invalid storage key")
        return self.root.joinpath(*parts)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)

    def _get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _delete_prefix(self, prefix: str) -> int:
        path = self._path(prefix.rstrip("/"))
        if not path.exists():
            return 0
        if path.is_file():
            path.unlink(missing_ok=True)
            return 1
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path, ignore_errors=True)
        return count

    def _list(self, prefix: str) -> list[StoredObject]:
        path = self._path(prefix.rstrip("/"))
        if not path.is_dir():
            return []
        found = []
        for file in path.rglob("*"):
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
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix, prefix)

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        return await asyncio.to_thread(self._list, prefix)
