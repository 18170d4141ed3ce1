"""API scaling over processes: GraphQL `me` (authenticate the API key, read the account,
queue its usage row) at concurrency 64 against `neurall serve --workers 1` and then
`--workers N`, each on a fresh distributed stack (PostgreSQL and RabbitMQ: more than one
API process needs a broker). The ratio of N processes' throughput to one's is the result;
on a machine with enough cores (say N + 2 for the server, more for the client and
PostgreSQL, pinned apart with --server-cpus/--client-cpus) 2 processes should reach 1.6
times one. On fewer cores the load generator and PostgreSQL compete with the server
processes for the same CPUs, which caps the ratio well below that.

    .venv/bin/python -m bench api [--api-processes N] [--quick]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

from bench.api import ME, _cpu_s, _load
from bench.common import Api, Stack

CONCURRENCY = 64


def _listening(parent: int, want: int, within_s: float = 120) -> list[int]:
    """The PIDs of ``want`` children of ``parent`` that listen: every API process is up."""
    import psutil

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        pids = []
        for child in psutil.Process(parent).children():
            try:
                if any(c.status == psutil.CONN_LISTEN for c in child.net_connections("tcp")):
                    pids.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        if len(pids) >= want:
            return pids
        time.sleep(0.2)
    raise RuntimeError(f"fewer than {want} API processes came up")


def _postgres_pids() -> list[int]:
    """PostgreSQL's processes (the shared server: its backends serve this bench too)."""
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += _cpu_s(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue  # a PostgreSQL backend that ended meanwhile
    return total


async def _measure(base: str, server_pids: list[int], total: int, rounds: int) -> dict[str, Any]:
    """Throughput and latency, and the CPU each side spent per request: the API processes,
    this load generator, and PostgreSQL (every process of it, other load included)."""
    async with Api(base) as api:
        url, payload = f"{base}/graphql", {"query": ME}
        await _load(url, api.key, payload, b'"email"', min(500, total), CONCURRENCY)  # warm
        runs = []
        sides = {"server": server_pids, "client": [os.getpid()]}
        for _ in range(rounds):
            sides["postgres"] = _postgres_pids()
            began = {name: _cpu_of(pids) for name, pids in sides.items()}
            result = await _load(url, api.key, payload, b'"email"', total, CONCURRENCY)
            for name, pids in sides.items():
                result[f"{name}_cpu_ms"] = (_cpu_of(pids) - began[name]) * 1000 / total
            runs.append(result)
    return {metric: statistics.median(r[metric] for r in runs) for metric in runs[0]}


def _one(processes: int, total: int, rounds: int) -> dict[str, Any]:
    stack = Stack(triton=False, worker_threads=1, serve_processes=processes)
    try:
        stack.up(worker=False)
        serve = stack.processes["serve"]
        pids = _listening(serve.pid, processes) if processes > 1 else [serve.pid]
        return asyncio.run(_measure(stack.api, pids, total, rounds))
    finally:
        stack.down()


def run(
    quick: bool = False, processes: int = 2, requests: int = 3000, rounds: int = 3
) -> dict[str, Any]:
    total = 200 if quick else requests
    rounds = 1 if quick else rounds
    one = _one(1, total, rounds)
    many = _one(processes, total, rounds)
    return {
        "one": one,
        "many": many,
        "processes": processes,
        "ratio": many["rps"] / one["rps"],
        "params": {"requests": total, "rounds": rounds, "concurrency": CONCURRENCY},
        "goal": "2 processes >= 1.6x one on a machine with enough cores",
    }
