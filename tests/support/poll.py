"""The one poller: ask until an answer will do, within a bound, failing with the last answer.

``until`` (async) and ``until_sync`` call ``probe`` every ``every`` seconds until
``done(answer)`` holds and return that answer; after ``within`` seconds they fail with
``what`` and the last answer (or the last error from ``ignore``), never returning a stale
one. ``probe`` may be a coroutine function for ``until``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

_NOTHING = object()


class _Tries:
    """The bookkeeping both forms share: the last answer, the deadline, the failure."""

    def __init__(self, done: Callable[[Any], Any], within: float, what: str) -> None:
        self.done, self.within, self.what = done, within, what
        self.deadline = time.monotonic() + within
        self.last: Any = _NOTHING

    def settles(self, answer: Any) -> bool:
        self.last = answer
        return bool(self.done(answer))

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            shown = "no answer" if self.last is _NOTHING else repr(self.last)
            if len(shown) > 3000:
                shown = shown[:1500] + " ... " + shown[-1500:]
            raise AssertionError(f"{self.what} not within {self.within:g} s; last: {shown}")


async def _answer(probe: Callable[[], Any]) -> Any:
    answer = probe()
    return await answer if inspect.isawaitable(answer) else answer


async def until(
    probe: Callable[[], Any],
    done: Callable[[Any], Any] = bool,
    *,
    within: float,
    every: float = 0.1,
    what: str = "the condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """Await ``probe()`` (or call it) until ``done`` holds for its answer; that answer."""
    tries = _Tries(done, within, what)
    while True:
        try:
            if tries.settles(await _answer(probe)):
                return tries.last
        except ignore as exc:
            tries.last = exc
        tries.check_time()
        await asyncio.sleep(every)


def until_sync(
    probe: Callable[[], Any],
    done: Callable[[Any], Any] = bool,
    *,
    within: float,
    every: float = 0.2,
    what: str = "the condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """``until`` for code without an event loop (threads, subprocess fixtures)."""
    tries = _Tries(done, within, what)
    while True:
        try:
            if tries.settles(probe()):
                return tries.last
        except ignore as exc:
            tries.last = exc
        tries.check_time()
        time.sleep(every)
