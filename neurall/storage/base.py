"""The storage interface: opaque keys ("images/<job>/<n>.png") to bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime  # UTC
    size: int


@runtime_checkable
class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there (so retries are safe)."""

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None when there are none."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key under ``prefix`` (a "folder"); returns how many went."""

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        """Every key under ``prefix`` with its age and size (for the retention sweeps)."""
