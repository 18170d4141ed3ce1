"""Private PostgreSQL and RabbitMQ servers for tests (and the soak) that stop them.

Each is a second instance beside the ones `make test` starts, on its own ports and data
directories, so stopping and restarting it mid-test disturbs no other test: a PostgreSQL
cluster made with Debian's pg_createcluster, and a second RabbitMQ node. Both come from
the same Debian packages as the shared ones; a missing package fails, never skips.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.poll import until_sync
from tests.support.ports import free_port
from tests.support.services import require

PG_VERSION = "15"
PASSWORD = "neurall"


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    result = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    until_sync(check, within=timeout_s, what=f"{what} coming up")


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own (``pg_createcluster 15 NAME -p PORT``)."""

    name: str
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgres://neurall:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgres://neurall:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create(self) -> None:
        self.drop()
        _run("pg_createcluster", PG_VERSION, self.name, "-p", str(self.port))
        self.start()
        sql = f"CREATE ROLE neurall LOGIN CREATEDB PASSWORD '{PASSWORD}'"
        _run("su", "postgres", "-c", f'psql -p {self.port} -qc "{sql}"')

    def start(self) -> None:
        require("postgres")
        _run("pg_ctlcluster", PG_VERSION, self.name, "start")
        _wait(lambda: _accepts(self.port), "PostgreSQL")

    def stop(self) -> None:
        _run("pg_ctlcluster", PG_VERSION, self.name, "stop", "-m", "fast")

    def restart(self) -> None:
        _run("pg_ctlcluster", PG_VERSION, self.name, "restart", "-m", "fast")
        _wait(lambda: _accepts(self.port), "PostgreSQL")

    def drop(self) -> None:
        if self.name in _run("pg_lsclusters", "--no-header"):
            _run("pg_dropcluster", "--stop", PG_VERSION, self.name)


@dataclass
class PrivateRabbit:
    """A second RabbitMQ node (``RABBITMQ_NODENAME``), with its own ports and data."""

    name: str
    port: int
    workdir: Path
    # Erlang distribution (rabbitmqctl talks to the node through it).
    dist_port: int = field(default_factory=lambda: free_port())

    @property
    def node(self) -> str:
        return f"{self.name}@{socket.gethostname().split('.')[0]}"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_PID_FILE": str(self.workdir / "rabbit.pid"),
        }

    def ctl(self, *args: str) -> str:
        return _run("rabbitmqctl", "-n", self.node, *args)

    def start(self) -> None:
        require("rabbitmq")
        # Debian's wrapper runs the node as the rabbitmq user: it must own the data.
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.workdir, "rabbitmq", "rabbitmq")
        # -detached returns at once; the node registers with epmd a few seconds later.
        _run("rabbitmq-server", "-detached", env=self._env())
        _wait(self._running, "the RabbitMQ node", timeout_s=90)
        self.ctl("await_startup")
        _wait(lambda: _accepts(self.port), "RabbitMQ")

    def _running(self) -> bool:
        try:
            self.ctl("ping")
        except RuntimeError:
            return False
        return True

    def stop(self) -> None:
        self.ctl("stop")
        # Until the Erlang node is gone: a new one under the same name cannot start before.
        _wait(lambda: not self._running(), "RabbitMQ's stop")

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup")

    def queues(self, vhost: str = "/") -> list[str]:
        return self.ctl("list_queues", "-p", vhost, "-q", "--no-table-headers", "name").split()

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
