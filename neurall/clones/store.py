"""Where a clone's files live: its temporary photos, and its trained adapter.

Photos: blob storage under ``uploads/clones/<clone id>/<index>.png`` (the temporary area),
deleted as one prefix when training ends. Adapters: the model store, a local directory
(``<data dir>/adapters``) because the inference server opens them by path. Distributed, it
is on the shared volume, mounted at the same path on the api, worker and gpu machines
(docker-compose.yml mounts it at /data everywhere).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from neurall.config import Settings

UPLOADS_PREFIX = "uploads/clones"


def upload_prefix(clone_id: uuid.UUID) -> str:
    return f"{UPLOADS_PREFIX}/{clone_id}"


def upload_key(clone_id: uuid.UUID, index: int) -> str:
    return f"{upload_prefix(clone_id)}/{index}.png"


class ModelStore:
    """Trained adapters as files, by key ("<clone id>.safetensors")."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelStore:
        return cls(settings.data_dir / "adapters")

    @staticmethod
    def key_for(clone_id: uuid.UUID) -> str:
        return f"{clone_id}.safetensors"

    def path(self, key: str) -> Path:
        # Keys are built from UUIDs by code, never taken from users; refuse any other shape.
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("invalid model store key")
        return self.root / key

    async def delete(self, key: str) -> None:
        """Remove the adapter and any temporary file an interrupted save left beside it."""

        def remove() -> None:
            self.path(key).unlink(missing_ok=True)
            self._remove_leftovers(key)

        await asyncio.to_thread(remove)

    async def delete_leftovers(self, key: str) -> None:
        """Remove temporary files of saves that never finished (a worker killed mid-save)."""
        await asyncio.to_thread(self._remove_leftovers, key)

    def _remove_leftovers(self, key: str) -> None:
        self.path(key)  # validates the key
        if self.root.exists():
            for leftover in self.root.glob(f".{key}.*.tmp"):
                leftover.unlink(missing_ok=True)
