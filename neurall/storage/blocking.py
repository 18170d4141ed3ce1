"""Blocking reads of a Storage, for threads that run no event loop.

The inference pipeline runs on a plain thread (PyTriton's, or the embedded BatchRunner's),
and fetches clone adapters from there. Async storage clients belong to one event loop, so
this reader owns one: a private loop on a daemon thread, started on first use, where its own
storage instance lives. It is what neurall.gpu.adapter_files calls a BlobReader.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from neurall.storage.base import Storage, download

T = TypeVar("T")


class BlockingReader:
    def __init__(self, make: Callable[[], Storage], *, timeout_s: float = 600.0) -> None:
        self._make = make
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._storage: Storage | None = None

    def _run(self, work: Callable[[Storage], Coroutine[Any, Any, T]]) -> T:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=loop.run_forever, name="storage-reader", daemon=True
                )
                self._thread.start()
                self._loop, self._storage = loop, self._make()
            loop, storage = self._loop, self._storage
        assert storage is not None
        future = asyncio.run_coroutine_threadsafe(work(storage), loop)
        return future.result(timeout=self._timeout_s)

    def fetch(self, key: str, path: Path) -> bool:
        return self._run(lambda storage: download(storage, key, path))

    def exists(self, key: str) -> bool:
        async def stat(storage: Storage) -> bool:
            return await storage.stat(key) is not None

        return self._run(stat)

    def close(self) -> None:
        with self._lock:
            loop, thread, storage = self._loop, self._thread, self._storage
            self._loop = self._thread = self._storage = None
        if loop is None or storage is None:
            return
        asyncio.run_coroutine_threadsafe(storage.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=30)
        loop.close()
