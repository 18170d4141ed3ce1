"""Stops what `neurall gpu` started when `neurall gpu` dies without cleaning up.

PyTriton runs tritonserver (and its Python backend stubs) as child processes. A SIGTERM
unwinds `neurall gpu` through Triton's context manager, which stops them; a SIGKILL or a
crash does not, and the orphaned tritonserver keeps the ports, so the next `neurall gpu`
could not start. This small process (``python -m neurall.gpu.guardian PID``), started by
`neurall gpu`, notes the process tree under it every second and, once it is orphaned
(its parent is gone), terminates that tree: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.5
GRACE_S = 10.0


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pids: set[int], grace_s: float = GRACE_S) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def watch(parent: int) -> None:
    me = os.getpid()
    tree: set[int] = set()
    while os.getppid() == parent:
        tree = descendants(parent) - {me}
        time.sleep(POLL_S)
    terminate({p for p in tree if _alive(p)})


def start() -> subprocess.Popen[bytes]:
    """Start the guardian of this process's tree."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "neurall.gpu.guardian", str(os.getpid())],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C is for `neurall gpu`, not for it
    )


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(int(sys.argv[1]))
