"""API scaling over processes: GraphQL `me` (authenticate the API key, read the account,
queue its usage row) at concurrency 64 against `neurall serve --workers 1` and
`--workers N`, each on a distributed stack of its own (PostgreSQL and RabbitMQ: more than
one API process needs a broker), both up at once and measured by turns. The ratio of N
processes' throughput to one's is the result; on a machine with enough cores (N for the
API, more for the client and PostgreSQL, pinned apart with --server-cpus/--client-cpus)
2 processes should reach 1.6 times one. On fewer cores the load generator and PostgreSQL
compete with the API processes for the same CPUs, which caps the ratio below that.

    .venv/bin/python -m bench api [--api-processes N] [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
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


async def _round(base: str, key: str, server_pids: list[int], total: int) -> dict[str, float]:
    """One measured round: throughput and latency, and the CPU each side spent per request:
    the API processes, this load generator, and PostgreSQL (all of it, other load included)."""
    sides = {"server": server_pids, "client": [os.getpid()], "postgres": _postgres_pids()}
    began = {name: _cpu_of(pids) for name, pids in sides.items()}
    result = await _load(f"{base}/graphql", key, {"query": ME}, b'"email"', total, CONCURRENCY)
    for name, pids in sides.items():
        result[f"{name}_cpu_ms"] = (_cpu_of(pids) - began[name]) * 1000 / total
    return result


async def _compare(
    stacks: dict[str, tuple[str, list[int]]], total: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Rounds alternate between the stacks, so load from elsewhere on the machine falls on
    both alike; medians per stack."""
    async with contextlib.AsyncExitStack() as exits:
        keys = {}
        for name, (base, _pids) in stacks.items():
            api = await exits.enter_async_context(Api(base))
            keys[name] = api.key
            warm = min(500, total)
            await _load(f"{base}/graphql", api.key, {"query": ME}, b'"email"', warm, CONCURRENCY)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in stacks}
        for _ in range(rounds):
            for name, (base, pids) in stacks.items():
                runs[name].append(await _round(base, keys[name], pids, total))
    return {
        name: {metric: statistics.median(r[metric] for r in rs) for metric in rs[0]}
        for name, rs in runs.items()
    }


def run(
    quick: bool = False, processes: int = 2, requests: int = 3000, rounds: int = 3
) -> dict[str, Any]:
    total = 200 if quick else requests
    rounds = 1 if quick else rounds
    # Both stacks up at once (the idle one costs nothing), measured by turns.
    stacks = {
        "one": Stack(triton=False, worker_threads=1, serve_processes=1),
        "many": Stack(triton=False, worker_threads=1, serve_processes=processes),
    }
    try:
        targets = {}
        for name, stack in stacks.items():
            stack.up(worker=False)
            serve = stack.processes["serve"]
            count = stack.serve_processes
            pids = _listening(serve.pid, count) if count > 1 else [serve.pid]
            targets[name] = (stack.api, pids)
        measured = asyncio.run(_compare(targets, total, rounds))
    finally:
        for stack in stacks.values():
            stack.down()
    return {
        **measured,
        "processes": processes,
        "ratio": measured["many"]["rps"] / measured["one"]["rps"],
        "params": {"requests": total, "rounds": rounds, "concurrency": CONCURRENCY},
        "goal": "2 processes >= 1.6x one on a machine with enough cores",
    }
