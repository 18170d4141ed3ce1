"""`neurall serve --workers N`: N API processes share one port (SO_REUSEPORT), supervised by
the parent; the in-process queue refuses more than one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.support.poll import until_sync
from tests.support.ports import free_port
from tests.support.processes import NEURALL, stop_process, wait_http


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")}
    return {**env, "NEURALL_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, broker_url: str) -> Iterator[dict]:
    """`neurall serve --workers 2` on SQLite and RabbitMQ (the API only enqueues)."""
    workdir = tmp_path_factory.mktemp("workers")
    port = free_port()
    log = workdir / "serve.log"
    with log.open("wb") as out:
        parent = subprocess.Popen(
            [*NEURALL, "serve", "--port", str(port), "--workers", "2"],
            env=_env(workdir, NEURALL_BROKER_URL=broker_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/readyz", parent, log)
        # Both children listen before the test counts them.
        until_sync(
            lambda: _listeners(parent, port),
            lambda listening: len(listening) >= 2,
            within=60,
            what="both children listening",
        )
        yield {"parent": parent, "port": port, "base": base, "log": log}
    finally:
        stop_process(parent)


def _children(parent: subprocess.Popen) -> list[psutil.Process]:
    # The spawn start method's resource tracker is a child too, and listens on nothing.
    return psutil.Process(parent.pid).children()


def _listeners(parent: subprocess.Popen, port: int) -> set[int]:
    """PIDs of the parent's children that listen on ``port``."""
    pids = set()
    for child in _children(parent):
        try:
            connections = child.net_connections("tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
            pids.add(child.pid)
    return pids


def _serving(listeners: set[int], port: int) -> set[int]:
    """Which of ``listeners`` hold an established connection from a client to ``port``."""
    pids = set()
    for pid in listeners:
        connections = psutil.Process(pid).net_connections("tcp")
        if any(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in connections):
            pids.add(pid)
    return pids


async def test_two_processes_listen_and_both_serve_requests(served):
    listeners = _listeners(served["parent"], served["port"])
    assert len(listeners) == 2
    assert served["parent"].pid not in listeners
    # Many connections, held open: the kernel hashes each to one listener, so with 24 of
    # them both processes hold some (all on one would have odds of 2 in 16 million).
    sessions = [aiohttp.ClientSession() for _ in range(24)]
    try:
        for session in sessions:
            async with session.get(f"{served['base']}/healthz") as response:
                assert response.status == 200
        assert _serving(listeners, served["port"]) == listeners
    finally:
        await asyncio.gather(*(session.close() for session in sessions))


def test_the_parent_replaces_a_child_that_dies(served):
    before = _listeners(served["parent"], served["port"])
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    until_sync(
        lambda: _listeners(served["parent"], served["port"]),
        lambda now: len(now) == 2 and victim not in now,
        within=60,
        what="a new child beside the survivor",
    )
    wait_http(f"{served['base']}/readyz", served["parent"], served["log"])


def test_stopping_the_parent_stops_every_child(served):
    """Last: it ends the module's server."""
    parent = served["parent"]
    children = _children(parent)
    assert len(children) >= 2
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=60) == 0
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, served["log"].read_text()[-3000:]


def test_more_than_one_process_needs_a_broker(tmp_path):
    result = subprocess.run(
        [*NEURALL, "serve", "--port", str(free_port()), "--workers", "2"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--workers needs NEURALL_BROKER_URL" in result.stderr
