"""Dramatiq's event-loop thread, backed by a loop that already runs (the server's or the
worker's), so async actors share its Tortoise connections, event bus and inference."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Awaitable
from typing import Any, TypeVar

from dramatiq.middleware import Interrupt

from neurall import logs
from neurall.workers.delivery import MESSAGE_ID

R = TypeVar("R")


class ServerLoop:
    """Dramatiq's event-loop-thread interface backed by a running loop and a captured
    context, so actors share the server's (or worker's) Tortoise connections and event bus.

    Tortoise 1.x keeps its connections in a context variable: a coroutine submitted from a
    worker thread would run in that thread's empty context, so it runs in ``context`` (a
    copy taken where Tortoise was initialised) instead.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, context: contextvars.Context | None = None
    ) -> None:
        self.loop = loop
        self.context = context or contextvars.copy_context()
        self._running: set[concurrent.futures.Future[Any]] = set()

    def run_coroutine(self, coro: Awaitable[R]) -> R:
        # run_coroutine_threadsafe schedules with a copy of the calling context: make that
        # the captured one, with this thread's log context (the message's request and job)
        # and its message id carried over.
        context = self.context.copy()
        context.run(logs.restore, logs.current())
        context.run(MESSAGE_ID.set, MESSAGE_ID.get())
        future = context.run(
            asyncio.run_coroutine_threadsafe,
            coro,  # type: ignore[arg-type]
            self.loop,
        )
        self._running.add(future)
        try:
            while True:
                try:
                    return future.result(timeout=0.1)
                except concurrent.futures.TimeoutError:
                    continue
                except Interrupt:
                    # TimeLimit or shutdown interrupted the worker thread: stop the job.
                    future.cancel()
                    raise
        finally:
            self._running.discard(future)

    def cancel_all(self) -> None:
        for future in list(self._running):
            future.cancel()
