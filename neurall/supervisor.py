"""`neurall serve --workers N`: N API processes on one port, and the parent that keeps them.

Each child runs its own aiohttp server and event loop on the same address with
``SO_REUSEPORT`` (aiohttp's ``reuse_port=True``), so the kernel spreads new connections over
the children; one event loop no longer caps a machine with more cores. The parent serves
nothing. It:

- starts the children (``spawn``: fresh interpreters, nothing inherited but the environment);
- forwards SIGTERM, SIGINT and SIGHUP to them as SIGTERM, waits for their graceful shutdown
  (aiohttp's own), and kills what is left after ``STOP_GRACE_S``;
- replaces a child that dies while the others serve (a crash, an out-of-memory kill), so
  the port keeps N listeners. A child that exits with an error status within
  ``STARTUP_GRACE_S`` of its start could not start (a bad setting, a port taken), and a
  restart would repeat that, as would more than ``MAX_RESTARTS`` deaths within
  ``RESTART_WINDOW_S``: then everything stops and the parent exits with status 1.

Children ask the kernel for SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), so a
parent killed with SIGKILL leaves no API process behind. This module imports nothing of
the project: what a child runs is the ``target`` it is given.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# A child that exits sooner than this after its start failed to start at all.
STARTUP_GRACE_S = 10.0
# aiohttp's own graceful shutdown allows 60 s for open requests; a little more than that.
STOP_GRACE_S = 75.0
# More deaths than this within RESTART_WINDOW_S is a crash loop: stop, do not restart.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
_PR_SET_PDEATHSIG = 1
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def supervise(target: Callable[..., None], args: tuple[Any, ...], count: int) -> int:
    """Run ``target(*args)`` in ``count`` child processes until a signal stops them; the
    exit status for the parent (0 after a requested stop, 1 after a failed start)."""
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {signum: signal.signal(signum, on_signal) for signum in _FORWARDED}

    def start(slot: int) -> BaseProcess:
        process = context.Process(
            target=_child,
            args=(target, args, os.getpid()),
            name=f"neurall-serve-{slot}",
            daemon=False,
        )
        process.start()
        started[slot] = time.monotonic()
        log.info("API process %d started (pid %s)", slot, process.pid)
        return process

    started: dict[int, float] = {}
    deaths: list[float] = []
    children: dict[int, BaseProcess] = {}
    status = 0
    try:
        for slot in range(count):
            children[slot] = start(slot)
        while not stopping:
            wait([child.sentinel for child in children.values()], timeout=0.5)
            for slot, child in list(children.items()):
                if child.is_alive() or stopping:
                    continue
                child.join()
                now = time.monotonic()
                deaths[:] = [t for t in deaths if now - t < RESTART_WINDOW_S] + [now]
                failed_start = now - started[slot] < STARTUP_GRACE_S and (child.exitcode or 0) > 0
                if failed_start or len(deaths) > MAX_RESTARTS:
                    log.error(
                        "API process %d exited with status %s %s; stopping",
                        slot,
                        child.exitcode,
                        "during start-up" if failed_start else "too often",
                    )
                    status = 1
                    stopping.append(0)
                    break
                log.error(
                    "API process %d (pid %s) exited with status %s; starting another",
                    slot,
                    child.pid,
                    child.exitcode,
                )
                children[slot] = start(slot)
    finally:
        _stop(list(children.values()))
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status


def _stop(children: list[BaseProcess]) -> None:
    for child in children:
        if child.is_alive() and child.pid is not None:
            os.kill(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            log.error("API process pid %s did not stop in time; killing it", child.pid)
            child.kill()
            child.join()


def _child(target: Callable[..., None], args: tuple[Any, ...], parent: int) -> None:
    _die_with_parent(parent)
    target(*args)


def _die_with_parent(parent: int) -> None:
    """SIGTERM this process when the parent dies, however it dies (Linux only; elsewhere
    a parent killed with SIGKILL leaves its children serving until they are stopped)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
