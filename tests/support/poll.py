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


def _failure(what: str, within: float, last: Any) -> AssertionError:
    shown = "no answer" if last is _NOTHING else repr(last)
    if len(shown) > 3000:
        shown = shown[:1500] + " ... " + shown[-1500:]
    return AssertionError(f"{what} not within {within:g} s; last: {shown}")


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
    deadline = time.monotonic() + within
    last: Any = _NOTHING
    while True:
        try:
            answer = probe()
            if inspect.isawaitable(answer):
                answer = await answer
        except ignore as exc:
            last = exc
        else:
            last = answer
            if done(answer):
                return answer
        if time.monotonic() > deadline:
            raise _failure(what, within, last)
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
    deadline = time.monotonic() + within
    last: Any = _NOTHING
    while True:
        try:
            last = probe()
        except ignore as exc:
            last = exc
        else:
            if done(last):
                return last
        if time.monotonic() > deadline:
            raise _failure(what, within, last)
        time.sleep(every)
