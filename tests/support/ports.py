"""A free TCP port on loopback, for a server a test starts.

Ports come from below the kernel's ephemeral range (32768 and up): a port the kernel gave
out (``bind(0)``) was free only until the next outgoing connection anywhere on the machine
took it, and a server starting a moment later failed with "address in use". Below that
range only tests pick ports. A picked port is locked for a minute (an advisory lock on a
file named after it), long enough for its server to bind it, so two test processes, of
one run or of two runs at once, never pick the same one; after that, the server holds it.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import time
from pathlib import Path

PORTS = range(10_000, 32_000)
LOCKS = Path(tempfile.gettempdir()) / "neurall-test-ports"
RESERVED_S = 60.0
# (when, open lock file) of the ports this process picked lately: closing one releases it.
_held: list[tuple[float, int]] = []


def _release_old() -> None:
    while _held and time.monotonic() - _held[0][0] > RESERVED_S:
        os.close(_held.pop(0)[1])


def _reserve(port: int) -> bool:
    fd = os.open(LOCKS / str(port), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # in use by something that did not pick it here
            os.close(fd)
            return False
    _held.append((time.monotonic(), fd))
    return True


def free_port() -> int:
    LOCKS.mkdir(exist_ok=True)
    _release_old()
    for _ in range(200):
        port = random.choice(PORTS)
        if _reserve(port):
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1} after 200 tries")
