"""The one way tests start `neurall serve`, `worker` and `gpu` as real processes: each
writes its output to a log file (never to a pipe nobody reads), is waited for over HTTP,
and is stopped with SIGTERM (SIGKILL after 30 s).

``distributed_stack`` is the distributed form: a PostgreSQL database of its own,
`neurall gpu` (Triton via PyTriton on the CPU) and `neurall serve` (one or several); tests
start `neurall worker`s themselves (``start_worker``), so their jobs are observably QUEUED
first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.poll import until_sync
from tests.support.ports import free_port
from tests.support.services import (
    POSTGRES_ADMIN_URL,
    drop_database,
    pg_admin_execute,
    require,
    run_sync,
)

NEURALL = [sys.executable, "-m", "neurall.cli"]
START_TIMEOUT_S = 120.0
MODEL_READY = "/v2/models/neurall_models/ready"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any NEURALL_ setting (a process on its embedded
    defaults), unbuffered, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def gpu_arguments(grpc_port: int, http_port: int, metrics_port: int, *more: str) -> list[str]:
    """`neurall gpu`'s arguments on loopback ports, on the CPU."""
    return [
        "gpu", "--host", "127.0.0.1", "--grpc-port", str(grpc_port),
        "--http-port", str(http_port), "--metrics-port", str(metrics_port), "--device", "cpu",
        *more,
    ]  # fmt: skip


def launch(
    args: Sequence[str], *, env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen:
    """`neurall ARGS` in a subprocess, stdout and stderr into ``log``."""
    if args[0] == "gpu":
        require("gpu_server")
    with log.open("wb") as out:
        return subprocess.Popen(
            [*NEURALL, *args], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http://
        return response.status


def wait_http(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until ``url`` answers 200; fails with the log's end if the process exits first or
    it does not within START_TIMEOUT_S."""

    def probe() -> int:
        if process.poll() is not None:
            pytest.fail(f"{url} never came up (exited):\n{log.read_text()[-3000:]}", pytrace=False)
        return _status(url)

    try:
        until_sync(probe, lambda status: status == 200, within=START_TIMEOUT_S, every=0.25,
                   what=f"{url} answering", ignore=(OSError,))  # fmt: skip
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{log.read_text()[-3000:]}", pytrace=False)


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def running(
    args: Sequence[str],
    *,
    env: dict[str, str],
    log: Path,
    ready_url: str,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """`neurall ARGS` (``launch``), once ``ready_url`` answers; stopped on exit."""
    process = launch(args, env=env, log=log, cwd=cwd)
    try:
        wait_http(ready_url, process, log)
        yield process
    finally:
        stop_process(process)


@dataclass(frozen=True)
class EmbeddedServe:
    """A running `neurall serve` on its embedded defaults: its URL, environment (for other
    `neurall` commands on the same data), data directory and log."""

    base: str
    env: dict[str, str]
    data: Path
    log: Path


@contextmanager
def embedded_serve(workdir: Path, tiny_models: Path, **env: str) -> Iterator[EmbeddedServe]:
    """`neurall serve` on its embedded defaults (SQLite, in-process queue and pipeline) in
    ``workdir``, its data directory linking the tiny models; ``env``: more settings."""
    data = workdir / "data"
    data.mkdir()
    (data / "models").symlink_to(tiny_models, target_is_directory=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = clean_env(NEURALL_DATA_DIR=str(data), NEURALL_PUBLIC_URL=base, **env)
    log = workdir / "serve.log"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(args, env=environment, log=log, ready_url=f"{base}/readyz", cwd=workdir):
        yield EmbeddedServe(base=base, env=environment, data=data, log=log)


class Processes:
    """`neurall` subcommands started with one environment, each logging to its own file.

    With ``models`` (the tiny model cache), each process gets a data directory of its own
    holding only a link to it, as if each ran on its own host: nothing else is shared
    through the file system."""

    def __init__(self, workdir: Path, env: dict[str, str], models: Path | None = None) -> None:
        self.workdir, self.env, self.models = workdir, env, models
        self.running: list[subprocess.Popen] = []

    def start(
        self, name: str, *args: str, extra_env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}-{len(self.running)}.log"
        env = {**self.env, **(extra_env or {})}
        if self.models is not None:
            data = self.workdir / f"host-{name}-{len(self.running)}"
            data.mkdir()
            (data / "models").symlink_to(self.models, target_is_directory=True)
            env["NEURALL_DATA_DIR"] = str(data)
        process = launch(args, env=env, log=log)
        self.running.append(process)
        return process, log

    def stop(self, process: subprocess.Popen) -> None:
        stop_process(process)

    def stop_all(self) -> None:
        for process in reversed(self.running):
            self.stop(process)


def start_worker(
    stack: dict[str, Any], threads: int = 2, **env: str
) -> tuple[subprocess.Popen, Path]:
    """A `neurall worker` of the stack (``env``: more of its environment)."""
    return stack["procs"].start("worker", "worker", "--threads", str(threads), extra_env=env)


@contextmanager
def distributed_stack(
    workdir: Path,
    tiny_models: Path,
    broker_url: str,
    *,
    max_queue_delay_us: int,
    extra_env: dict[str, str] | None = None,
    gpu_args: tuple[str, ...] = (),
    apis: int = 1,
    data_per_process: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yields ``procs``, ``api`` (base URL), ``db`` (URL), ``env``, ``data`` (the data dir)
    and ``stats`` (the Triton model's pipeline-call counts, see `neurall gpu --stats-file`).
    Everything is stopped and the database dropped afterwards. ``gpu_args``: more options
    for `neurall gpu`.

    ``apis`` > 1 starts that many `neurall serve` processes, each on a port of its own and
    with no NEURALL_PUBLIC_URL (its links follow its port); ``apis`` lists their base URLs
    and ``serves`` their processes. ``data_per_process``: see ``Processes``."""
    name = f"neurall_stack_{uuid.uuid4().hex[:10]}"
    database_url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    run_sync(pg_admin_execute(f'CREATE DATABASE "{name}"'))
    data_dir = workdir / "data"
    data_dir.mkdir()
    (data_dir / "models").symlink_to(tiny_models, target_is_directory=True)
    grpc_port, triton_http, metrics = free_port(), free_port(), free_port()
    api_ports = [free_port() for _ in range(apis)]
    api_port = api_ports[0]
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(data_dir),
        "NEURALL_DATABASE_URL": database_url,
        "NEURALL_BROKER_URL": broker_url,
        "NEURALL_INFERENCE_URL": f"grpc://127.0.0.1:{grpc_port}",
        "NEURALL_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "NEURALL_SECRET_KEY": "distributed-test-secret-key-0123456789",
        **(extra_env or {}),
    }
    if apis > 1:
        del env["NEURALL_PUBLIC_URL"]
    procs = Processes(workdir, env, tiny_models if data_per_process else None)
    try:
        subprocess.run([*NEURALL, "migrate"], env=env, check=True, capture_output=True)
        stats = workdir / "stats.json"
        gpu, gpu_log = procs.start(
            "gpu",
            *gpu_arguments(
                grpc_port, triton_http, metrics, "--stats-file", str(stats),
                "--max-queue-delay-us", str(max_queue_delay_us), *gpu_args,
            ),
        )  # fmt: skip
        serves = [procs.start("serve", "serve", "--port", str(port)) for port in api_ports]
        for port, (serve, serve_log) in zip(api_ports, serves, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", serve, serve_log)
        wait_http(f"http://127.0.0.1:{triton_http}{MODEL_READY}", gpu, gpu_log)
        yield {"procs": procs, "api": f"http://127.0.0.1:{api_port}", "db": database_url,
               "env": env, "data": data_dir, "stats": stats,
               "apis": [f"http://127.0.0.1:{port}" for port in api_ports],
               "serves": [serve for serve, _ in serves]}  # fmt: skip
    finally:
        procs.stop_all()
        run_sync(drop_database(name))
