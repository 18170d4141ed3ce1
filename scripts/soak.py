"""Soak the distributed form under faults, then check that nothing was lost.

    .venv/bin/python scripts/soak.py [--jobs 200] [--clients 8] [--cancel 0.1]
        [--kill-every 20] [--broker-every 45] [--database-every 60] [--duration 180]

Starts a private PostgreSQL cluster and RabbitMQ node (tests/support/instances.py), one
`neurall serve` and two `neurall worker`s (the tiny model in-process), and submits
``--jobs`` jobs from ``--clients`` concurrent clients (half playground, half API key),
cancelling a random ``--cancel`` share of them. Meanwhile it SIGKILLs a worker (and
starts a new one) every ``--kill-every`` seconds, restarts the broker's app every
``--broker-every`` seconds and the database every ``--database-every`` seconds, for
``--duration`` seconds in all (submission included). Clients retry what they are told to
retry (503 with Retry-After). Then it waits (up to ``--settle`` seconds) for every job to
end, checks the invariants of tests/support/ledger.py, prints what it counted (jobs,
ended, stuck, credits held, double charges, ledger mismatches: docs/operations.md,
"Outages", has the results) and exits 1 when anything is stuck, held or wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurall.gpu.tiny import build_tiny_pipeline  # noqa: E402
from tests.support.graphql import CANCEL, CREATE_KEY, GENERATE, PASSWORD, SIGN_UP  # noqa: E402
from tests.support.instances import PrivatePostgres, PrivateRabbit  # noqa: E402
from tests.support.jobs import active_jobs, payload_queues  # noqa: E402
from tests.support.ledger import inspect_ledgers  # noqa: E402
from tests.support.poll import until  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import NEURALL, Processes, wait_http  # noqa: E402

LEASE_S = 10


class Tally:
    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.retried = 0
        self.canceled = 0
        self.unavailable_ms: list[float] = []
        self.faults: list[str] = []
        self.problems: list[str] = []


async def _client(base: str, jobs: int, args: argparse.Namespace, tally: Tally) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as http:

        async def post(query: str, variables: dict, key: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            while True:
                started = time.monotonic()
                try:
                    async with http.post(
                        "/graphql", json={"query": query, "variables": variables}, headers=headers
                    ) as response:
                        body = await response.json()
                        if response.status != 503:
                            return body
                        tally.unavailable_ms.append((time.monotonic() - started) * 1000)
                        wait = float(response.headers.get("Retry-After", "1"))
                except aiohttp.ClientError:
                    wait = 1.0
                tally.retried += 1
                await asyncio.sleep(wait)

        email = f"{uuid.uuid4().hex[:10]}@example.com"
        await post(SIGN_UP, {"input": {"email": email, "password": PASSWORD}})
        key = (await post(CREATE_KEY, {"name": "soak", "scopes": None}))["data"]
        key = key["createApiKey"]["secret"]
        # Submissions spread over most of the fault window, so some meet each outage.
        pace = args.duration * 0.8 / max(1, jobs)
        for index in range(jobs):
            await asyncio.sleep(random.random() * 2 * pace)
            by_key = index % 2 == 1
            variables = {"input": {"prompt": "soak", "steps": 8, "seed": index}}
            body = await post(GENERATE, variables, key if by_key else None)
            job = body["data"]["generate"]
            if job["__typename"] != "Job":
                continue  # e.g. out of credits: not accepted, nothing to check
            tally.accepted.append(job["id"])
            if random.random() < args.cancel:
                await asyncio.sleep(random.random() * 2)
                await post(CANCEL, {"id": job["id"]}, key if by_key else None)
                tally.canceled += 1


async def _chaos(
    procs: Processes, workers: list[Any], postgres: PrivatePostgres, rabbit: PrivateRabbit,
    args: argparse.Namespace, tally: Tally, done: asyncio.Event,
) -> None:  # fmt: skip
    started = time.monotonic()
    next_kill, next_broker, next_db = args.kill_every, args.broker_every, args.database_every
    while not done.is_set():
        await asyncio.sleep(1)
        elapsed = time.monotonic() - started
        if elapsed >= next_kill:
            next_kill += args.kill_every
            victim = workers.pop(random.randrange(len(workers)))
            victim.send_signal(signal.SIGKILL)
            workers.append(procs.start("worker", "worker", "--threads", "2")[0])
            tally.faults.append(f"{elapsed:.0f}s worker SIGKILL")
        if elapsed >= next_broker:
            next_broker += args.broker_every
            await asyncio.to_thread(rabbit.stop_app)
            await asyncio.sleep(6)
            await asyncio.to_thread(rabbit.start_app)
            tally.faults.append(f"{elapsed:.0f}s broker stop_app 6 s")
        if elapsed >= next_db:
            next_db += args.database_every
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(postgres.start)
            tally.faults.append(f"{elapsed:.0f}s database stop 3 s")


def soak(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="neurall-soak-"))
    postgres = PrivatePostgres("neurall_soak", free_port())
    rabbit = PrivateRabbit("neurall-soak", free_port(), Path(tempfile.mkdtemp(prefix="ns-")))
    postgres.create()
    rabbit.start()
    data = workdir / "data"
    build_tiny_pipeline(data / "models" / "tiny-sd")
    api_port = free_port()
    subprocess.run(
        ["su", "postgres", "-c", f"createdb -p {postgres.port} -O neurall neurall"], check=True
    )
    env = {
        **os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1",
        "NEURALL_DATA_DIR": str(data), "NEURALL_DATABASE_URL": postgres.url("neurall"),
        "NEURALL_BROKER_URL": rabbit.url, "NEURALL_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "NEURALL_SECRET_KEY": "soak-secret-key-0123456789abcdef0123",
        "NEURALL_JOB_LEASE_S": str(LEASE_S), "NEURALL_REAPER_INTERVAL_S": "2",
        "NEURALL_DISPATCH_TIMEOUT_S": str(LEASE_S),
        "NEURALL_SIGNUP_GRANT_CREDITS": str(args.jobs * 10), "NEURALL_PREVIEW_EVERY_STEPS": "0",
        "NEURALL_GENERATES_PER_MINUTE_PER_ACCOUNT": "100000",
        "NEURALL_MAX_ACTIVE_JOBS_PER_ACCOUNT": "1000",
    }  # fmt: skip
    subprocess.run([*NEURALL, "migrate"], env=env, check=True, capture_output=True)
    procs = Processes(workdir, env)
    try:
        serve, log = procs.start("serve", "serve", "--port", str(api_port))
        wait_http(f"http://127.0.0.1:{api_port}/healthz", serve, log)
        workers = [procs.start("worker", "worker", "--threads", "2")[0] for _ in range(2)]
        tally, figures = asyncio.run(
            _run(f"http://127.0.0.1:{api_port}", procs, workers, postgres, rabbit, args)
        )
    finally:
        procs.stop_all()
        rabbit.destroy()
        postgres.drop()
    print("| figure | value |\n|---|---|")
    for name, value in figures:
        print(f"| {name} | {value} |")
    for line in tally.faults + tally.problems:
        print(line)
    return 1 if tally.problems else 0


async def _run(
    base: str, procs: Processes, workers: list[Any], postgres: PrivatePostgres,
    rabbit: PrivateRabbit, args: argparse.Namespace,
) -> tuple[Tally, list[tuple[str, object]]]:  # fmt: skip
    tally = Tally()
    done = asyncio.Event()
    chaos = asyncio.create_task(_chaos(procs, workers, postgres, rabbit, args, tally, done))
    started = time.monotonic()
    shares = [args.jobs // args.clients] * args.clients
    shares[0] += args.jobs % args.clients
    await asyncio.gather(*(_client(base, n, args, tally) for n in shares))
    submitted_s = time.monotonic() - started
    # Faults go on while the backlog runs, for --duration seconds in all.
    await asyncio.sleep(max(0.0, args.duration - submitted_s))
    done.set()
    await chaos
    database = postgres.url("neurall")
    settle_started = time.monotonic()
    with contextlib.suppress(AssertionError):  # counted below as stuck
        await until(
            lambda: active_jobs(database), lambda left: left == 0, within=args.settle, every=0.5
        )
    stuck = await active_jobs(database)
    settle_s = time.monotonic() - settle_started
    # A payload whose deletion met the last outage is marked for the reaper, whose next
    # pass (every 2 s here) deletes it: give it a few passes before counting it as left.
    with contextlib.suppress(AssertionError):
        await until(
            lambda: inspect_ledgers(database), lambda r: not r.problems(), within=10, every=0.5
        )
    report = await inspect_ledgers(database)
    tally.problems = report.problems()
    tally.problems += [f"payload left: {q}" for q in payload_queues(rabbit.queues())]
    if stuck:
        tally.problems.append(f"{stuck} jobs still queued or running after {settle_s:.0f} s")
    figures: list[tuple[str, object]] = [
        ("jobs accepted", len(tally.accepted)), ("cancels sent", tally.canceled),
        ("jobs ended", len(tally.accepted) - stuck), ("jobs stuck (queued or running)", stuck),
        ("credits held at the end", report.credits_held),
        ("double charges", len(report.charged_twice)),
        ("ledger mismatches (accounts)", len(report.mismatched_accounts)),
        ("faults injected", len(tally.faults)), ("503 answers retried", tally.retried),
        ("slowest 503 answer (ms)", f"{max(tally.unavailable_ms, default=0.0):.0f}"),
        ("submission phase (s)", f"{submitted_s:.0f}"),
        ("every job ended after (s)", f"{settle_s:.0f}" if not stuck else "-"),
        ("invariant violations", len(tally.problems)),
    ]  # fmt: skip
    return tally, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cancel", type=float, default=0.1)
    parser.add_argument("--kill-every", type=float, default=20)
    parser.add_argument("--broker-every", type=float, default=45)
    parser.add_argument("--database-every", type=float, default=60)
    parser.add_argument("--duration", type=float, default=180, help="seconds of faults")
    parser.add_argument("--settle", type=float, default=LEASE_S + 60 + 300)
    sys.exit(soak(parser.parse_args()))


if __name__ == "__main__":
    main()
