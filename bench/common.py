"""What the benchmarks share: statistics, free ports, the distributed stack as processes,
a GraphQL client with an API key, and a graphql-transport-ws subscriber.

Everything runs against the real services of this machine (PostgreSQL, RabbitMQ, Triton via
PyTriton); a throwaway PostgreSQL database is created per stack and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from neurall.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "NEURALL_TEST_POSTGRES_URL", "postgres://neurall:neurall@127.0.0.1:5432/postgres"
)
BROKER = os.environ.get("NEURALL_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
NEURALL = [sys.executable, "-m", "neurall.cli"]
PROMPT = "a lighthouse at dusk"
# The tiny model, built once (deterministically) and shared by every run and process.
MODELS = ROOT / "neurall-data" / "models"
# The abuse limits would cap the very thing measured.
UNLIMITED = {
    "NEURALL_REQUESTS_PER_MINUTE_PER_API_KEY": "1000000000",
    "NEURALL_REQUESTS_PER_MINUTE_PER_ACCOUNT": "1000000000",
    "NEURALL_GENERATES_PER_MINUTE_PER_ACCOUNT": "1000000000",
    "NEURALL_MAX_ACTIVE_JOBS_PER_ACCOUNT": "100000",
    "NEURALL_SIGNUP_GRANT_CREDITS": "10000000",
}
GENERATE = """mutation($input: GenerateInput!) { generate(input: $input) {
  __typename ... on Job { id } ... on UserError { message } } }"""
EVENTS = """subscription($id: ID!) { jobEvents(jobId: $id) { seq type step status } }"""


# CPU pinning (`python -m bench --server-cpus ... --client-cpus ...`): every server process
# a bench starts runs on SERVER_CPUS (set before exec, as `taskset -c` does, so all its
# threads inherit it); the benchmark process, the load generator, runs on the client CPUs.
# None: no pinning. PostgreSQL and RabbitMQ are shared services and are never pinned.
SERVER_CPUS: set[int] | None = None


def parse_cpus(text: str) -> set[int]:
    """A CPU list as taskset -c takes it: "0", "0,2", "0-3", "0-1,4"."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    if not cpus:
        raise ValueError(f"no CPUs in {text!r}")
    return cpus


def pin(server: set[int] | None, client: set[int] | None) -> None:
    """Pin the server processes started from now on, and this process, to those CPUs."""
    global SERVER_CPUS
    SERVER_CPUS = server
    if client is not None:
        os.sched_setaffinity(0, client)


def server_popen_options() -> dict[str, Any]:
    """Extra ``subprocess.Popen`` arguments for a server process (its pinning, if any)."""
    cpus = SERVER_CPUS
    if cpus is None:
        return {}
    # In the child before exec: the server and every thread it starts stay on these CPUs.
    return {"preexec_fn": lambda: os.sched_setaffinity(0, cpus)}


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Median, p99 (nearest rank), min and count of ``samples``."""
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0, "median": float("nan"), "p99": float("nan"), "min": float("nan")}
    rank = max(0, min(len(ordered) - 1, round(0.99 * len(ordered) + 0.5) - 1))
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p99": ordered[rank],
        "min": ordered[0],
    }


# Above the kernel's ephemeral range (32768-60999) and the tests' range (10000-31999): a
# port bind(0) gave out was free only until the next outgoing connection took it, and a
# server starting a moment later failed with "address in use".
BENCH_PORTS = range(61_000, 65_536)
# Ports handed out by this process: a port is bound only when its server starts, so two
# picks before that must not return the same one.
_handed_out: set[int] = set()


def free_port() -> int:
    for port in random.sample(BENCH_PORTS, 200):
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port for the bench's servers")


def wait_http(url: str, process: subprocess.Popen | None = None, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http://
                if response.status == 200:
                    return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def generate_once(backend: Any, steps: int, size: int, seed: int) -> None:
    """One PROMPT image of ``size`` x ``size`` through an inference backend, to its result."""
    from neurall.gpu.types import GenerationRequest, GenerationResult

    request = GenerationRequest(
        prompt=PROMPT, negative_prompt=None, width=size, height=size, steps=steps,
        guidance_scale=7.5, seed=seed, num_images=1,
    )  # fmt: skip
    async for item in backend.generate(request):
        if isinstance(item, GenerationResult):
            return


def ensure_tiny_model() -> Path:
    from neurall.gpu.tiny import build_tiny_pipeline

    build_tiny_pipeline(MODELS / "tiny-sd")  # reuses a complete build
    return MODELS


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _drop_database(name: str) -> None:
    """FORCE cannot end an autovacuum worker (a superuser's) just started on the new
    database; it ends within moments, so the drop is tried again meanwhile."""
    for attempt in range(50):
        try:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)


@dataclass
class Stack:
    """`neurall gpu`, `neurall serve` and `neurall worker` as separate processes on a
    throwaway PostgreSQL database and the local RabbitMQ, like the distributed tests.

    Where those services are missing (the GPU machine), ``distributed=False`` runs
    `neurall serve` on SQLite with its in-process queue instead, and ``triton=False``
    keeps the pipeline inside it too.
    """

    worker_threads: int = 8
    max_batch_size: int = 8
    distributed: bool = True
    triton: bool = True
    model: str = "tiny"
    device: str = "cpu"
    extra_env: dict[str, str] = field(default_factory=dict)
    # `neurall serve --workers`: API processes sharing the port (more than 1 needs RabbitMQ).
    serve_processes: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="neurall-bench-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db = f"neurall_bench_{uuid.uuid4().hex[:10]}"
        self.grpc, self.triton_http, self.metrics, self.api_port = (free_port() for _ in "1234")
        self.api = f"http://127.0.0.1:{self.api_port}"
        if self.distributed:
            self.database_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{self.db}"
            # A virtual host of its own: the "generation" queue is shared by everything on
            # this RabbitMQ, and another test stack's worker would take (and drop) our jobs.
            has_ctl = shutil.which("rabbitmqctl")
            self.vhost = f"neurall-bench-{uuid.uuid4().hex[:8]}" if has_ctl else ""
            self.broker_url = f"{BROKER.rstrip('/')}/{self.vhost}" if self.vhost else BROKER
        else:
            self.database_url = f"sqlite://{self.workdir / 'data' / 'neurall.sqlite3'}"
            self.vhost, self.broker_url = "", ""  # the in-process queue
        inference = f"grpc://127.0.0.1:{self.grpc}" if self.triton else "embedded"
        # Whichever process runs the pipeline writes its batch sizes here.
        self.stats_file = self.workdir / "pipeline-stats.json"
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "NEURALL_DATA_DIR": str(self.workdir / "data"),
            "NEURALL_DATABASE_URL": self.database_url,
            "NEURALL_BROKER_URL": self.broker_url,
            "NEURALL_INFERENCE_URL": inference,
            "NEURALL_MODEL": self.model,
            # The in-process queue's threads are its workers.
            "NEURALL_EMBEDDED_WORKER_THREADS": str(self.worker_threads),
            "NEURALL_PUBLIC_URL": self.api,
            "NEURALL_SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
            **UNLIMITED,
            **self.extra_env,
        }
        if not self.triton:
            self.env["NEURALL_EMBEDDED_STATS_FILE"] = str(self.stats_file)
        self._log = (self.workdir / "processes.log").open("ab")

    @property
    def models(self) -> Path:
        return MODELS

    def start(self, name: str, *args: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [*NEURALL, *args],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            **server_popen_options(),
        )
        self.processes[name] = process
        return process

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def up(self, *, worker: bool = True) -> Stack:
        """Start the processes; ``worker`` (distributed only) adds `neurall worker`."""
        if self.model == "tiny":
            ensure_tiny_model()
        if self.distributed:
            asyncio.run(_admin(f'CREATE DATABASE "{self.db}"'))
        if self.vhost:
            _rabbitmqctl("add_vhost", self.vhost)
            _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        subprocess.run([*NEURALL, "migrate"], env=self.env, check=True, capture_output=True)
        if self.triton:
            triton = self.start(
                "gpu", "gpu", "--host", "127.0.0.1", "--grpc-port", str(self.grpc),
                "--http-port", str(self.triton_http), "--metrics-port", str(self.metrics),
                "--device", self.device, "--max-batch-size", str(self.max_batch_size),
                "--cache-dir", str(self.models), "--stats-file", str(self.stats_file),
            )  # fmt: skip
        serve = self.start(
            "serve", "serve", "--port", str(self.api_port), "--workers", str(self.serve_processes)
        )
        wait_http(f"{self.api}/healthz", serve, timeout_s=600)
        if self.triton:
            ready = f"http://127.0.0.1:{self.triton_http}/v2/models/neurall_models/ready"
            wait_http(ready, triton, timeout_s=600)
        if worker and self.distributed:
            self.start("worker", "worker", "--threads", str(self.worker_threads))
        return self

    @property
    def batch_window_ms(self) -> int | None:
        """The embedded pipeline's batching window; None where Triton batches (its queue
        delay is `neurall gpu`'s default)."""
        if self.triton:
            return None
        default = Settings.model_fields["embedded_batch_window_ms"].default
        return int(self.env.get("NEURALL_EMBEDDED_BATCH_WINDOW_MS", default))

    def pipeline_stats(self) -> dict[str, Any]:
        """The pipeline's counters so far: ``batch_sizes`` (the last 1,000, in order) and
        ``busy_s`` (seconds inside pipeline calls), as `BatchRunner.stats` writes them."""
        if not self.stats_file.exists():
            return {"batch_sizes": [], "busy_s": 0.0}
        return json.loads(self.stats_file.read_text(encoding="utf-8"))

    def down(self) -> None:
        for name in ("worker", "serve", "gpu"):
            self.stop(name)
        self._log.close()
        if self.distributed:
            asyncio.run(_drop_database(self.db))
        if self.vhost:
            _rabbitmqctl("delete_vhost", self.vhost)


def on_stack(stack: Stack, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``measure()`` with ``stack`` up, then down; a failure prints the end of the stack
    processes' log first (the figure alone would not say why)."""
    try:
        stack.up()
        return measure()
    except Exception:
        log = (stack.workdir / "processes.log").read_text(errors="replace")
        print(f"--- processes' log (end) ---\n{log[-6000:]}")
        raise
    finally:
        stack.down()


def _rabbitmqctl(*args: str) -> None:
    tool = shutil.which("rabbitmqctl") or "rabbitmqctl"
    subprocess.run([tool, "-q", *args], check=True, capture_output=True, timeout=60)


class Api:
    """A GraphQL client holding one account's API key."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http: aiohttp.ClientSession | None = None
        self.key = ""

    async def __aenter__(self) -> Api:
        connector = aiohttp.TCPConnector(limit=256)
        self.http = aiohttp.ClientSession(
            base_url=self.base, cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector
        )
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        await self.gql(
            "mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }",
            {"i": {"email": email, "password": "benchmark password 123"}},
        )
        created = await self.gql(
            'mutation { createApiKey(name: "bench") { ... on CreatedApiKey { secret } } }'
        )
        self.key = created["createApiKey"]["secret"]
        self.http.cookie_jar.clear()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.http is not None:
            await self.http.close()

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        payload = {"query": query, "variables": variables or {}}
        async with self.http.post("/graphql", json=payload, headers=headers) as response:
            body = await response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    async def generate(self, steps: int, size: int, seed: int) -> str:
        data = {"prompt": PROMPT, "steps": steps, "width": size, "height": size, "seed": seed}
        job = (await self.gql(GENERATE, {"input": data}))["generate"]
        if job["__typename"] != "Job":
            raise RuntimeError(f"generate: {job}")
        return job["id"]

    async def subscribe(self, job_id: str) -> Subscription:
        return await Subscription.open(self.base, self.key, job_id)


class Subscription:
    """One jobEvents subscription on its own graphql-transport-ws connection."""

    def __init__(
        self,
        socket: aiohttp.ClientWebSocketResponse,
        session: aiohttp.ClientSession,
        owns_session: bool,
    ) -> None:
        self.socket, self.session, self._owns_session = socket, session, owns_session

    @classmethod
    async def open(
        cls, base: str, key: str, job_id: str, session: aiohttp.ClientSession | None = None
    ) -> Subscription:
        owns = session is None
        session = session or aiohttp.ClientSession()
        url = base.replace("http://", "ws://", 1) + "/graphql"
        socket = await session.ws_connect(url, protocols=["graphql-transport-ws"], heartbeat=None)
        init = {"authorization": f"Bearer {key}"}
        await socket.send_json({"type": "connection_init", "payload": init})
        ack = await socket.receive_json(timeout=30)
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        await socket.send_json(
            {"id": "1", "type": "subscribe",
             "payload": {"query": EVENTS, "variables": {"id": job_id}}}
        )  # fmt: skip
        return cls(socket, session, owns)

    async def next(self, within: float = 120) -> dict[str, Any] | None:
        """The next event, or None when the subscription completed."""
        while True:
            message = json.loads((await self.socket.receive(timeout=within)).data)
            if message["type"] == "next":
                if message["payload"].get("errors"):
                    raise RuntimeError(f"subscription error: {message['payload']['errors']}")
                return message["payload"]["data"]["jobEvents"]
            if message["type"] == "complete":
                return None
            if message["type"] == "error":
                raise RuntimeError(f"subscription error: {message['payload']}")

    async def until(self, event_type: str, within: float = 120) -> dict[str, Any]:
        while True:
            event = await self.next(within)
            if event is None:
                raise RuntimeError(f"completed before {event_type}")
            if event["type"] == event_type:
                return event
            if event["type"] in ("FAILED", "CANCELED"):
                raise RuntimeError(f"job ended {event['type']}")

    async def close(self) -> None:
        await self.socket.close()
        if self._owns_session:
            await self.session.close()
