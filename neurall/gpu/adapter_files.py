"""Where the inference process finds a clone's adapter file, given its key in the store.

Workers send a key ("adapters/<clone id>.safetensors"), never a path: the inference server
may run on another host. The process is given one ``AdapterFiles`` at start:

- ``DirectoryAdapterFiles``: the store is a local directory (the embedded form, where the
  storage directory is on this machine); the file is used in place.
- ``CachedAdapterFiles``: the store is elsewhere (an S3 bucket). Files are fetched through a
  ``BlobReader`` into a local directory whose size is bounded: once it holds more than
  ``max_bytes``, the least recently used files are deleted. The directory starts empty, and
  every ``prune_interval_s`` the files whose object is gone from the store (a deleted clone)
  are deleted too, so a deleted clone's weights do not linger on inference hosts.

This module imports nothing of the project but its own types: the reader is whatever the
entry point hands in (neurall.storage.blocking.BlockingReader in `neurall gpu`).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from neurall.gpu.types import InferenceError, InferenceUnavailable

logger = logging.getLogger(__name__)

DEFAULT_PRUNE_INTERVAL_S = 600.0


class AdapterFiles(Protocol):
    def local_path(self, key: str) -> Path:
        """A local file holding the adapter stored under ``key``; InferenceError if the store
        has none. Blocking: called on the inference thread."""


class BlobReader(Protocol):
    """Blocking reads of the store, for threads outside any event loop."""

    def fetch(self, key: str, path: Path) -> bool:
        """Write the object under ``key`` to ``path`` (whole, or not at all); False when
        there is no such object."""

    def exists(self, key: str) -> bool:
        """Whether the store still holds ``key``."""


def _check_key(key: str) -> str:
    parts = key.split("/")
    # Keys come from the worker, built from UUIDs; nothing may climb out of a directory.
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InferenceError("invalid adapter key")
    return key


class DirectoryAdapterFiles:
    """Adapters kept in a local directory (the storage directory): used where they are."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def local_path(self, key: str) -> Path:
        path = self.root.joinpath(*_check_key(key).split("/"))
        if not path.is_file():
            raise InferenceError(f"adapter not found: {path.name}")
        return path


class CachedAdapterFiles:
    """Adapters fetched from a remote store into ``root``, at most ``max_bytes`` of them
    (the most recently used one is always kept, even if it alone is larger)."""

    def __init__(
        self,
        reader: BlobReader,
        root: Path,
        max_bytes: int,
        *,
        prune_interval_s: float | None = DEFAULT_PRUNE_INTERVAL_S,
    ) -> None:
        self._reader = reader
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._sizes: OrderedDict[str, int] = OrderedDict()  # key -> bytes, oldest use first
        # Files of an earlier run are not trusted: their clones may have been deleted since.
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        if prune_interval_s is not None:
            threading.Thread(
                target=self._prune_forever,
                args=(prune_interval_s,),
                name="adapter-cache-prune",
                daemon=True,
            ).start()

    @property
    def cached_bytes(self) -> int:
        return sum(self._sizes.values())

    def cached_keys(self) -> list[str]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._sizes)

    def _path(self, key: str) -> Path:
        # A flat directory of fixed-length names: no key can shape a path here.
        digest = hashlib.sha256(_check_key(key).encode()).hexdigest()
        return self.root / f"{digest}{Path(key).suffix}"

    def local_path(self, key: str) -> Path:
        path = self._path(key)
        with self._lock:
            if key in self._sizes and path.is_file():
                self._sizes.move_to_end(key)
                return path
            self._sizes.pop(key, None)
            try:
                found = self._reader.fetch(key, path)
            except Exception as exc:  # the store is down or slow: worth a retry
                raise InferenceUnavailable(f"could not fetch the adapter: {exc}") from exc
            if not found:
                raise InferenceError(f"adapter not found: {Path(key).name}")
            self._sizes[key] = path.stat().st_size
            self._evict()
        return path

    def _evict(self) -> None:
        while len(self._sizes) > 1 and sum(self._sizes.values()) > self.max_bytes:
            key, _ = self._sizes.popitem(last=False)
            self._path(key).unlink(missing_ok=True)
        if sum(self._sizes.values()) > self.max_bytes:
            logger.warning(
                "one adapter is larger than the adapter cache (%d bytes)", self.max_bytes
            )

    def prune(self) -> int:
        """Delete cached files whose object is gone from the store; returns how many."""
        removed = 0
        for key in self.cached_keys():
            try:
                gone = not self._reader.exists(key)
            except Exception:
                logger.warning("adapter cache: the store could not be asked; pruning later")
                return removed
            if gone:
                with self._lock:
                    if self._sizes.pop(key, None) is not None:
                        self._path(key).unlink(missing_ok=True)
                        removed += 1
        return removed

    def _prune_forever(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.prune()

    def close(self) -> None:
        self._stop.set()
