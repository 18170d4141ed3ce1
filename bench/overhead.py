"""Overhead: GraphQL `generate` -> RabbitMQ -> worker -> Triton -> SUCCEEDED event, against
the same pipeline call made in-process with the same parameters.

- 1 in flight: one job at a time; end-to-end time is from sending `generate` to receiving
  the SUCCEEDED event on a jobEvents websocket opened right after `generate` returned.
- saturation: a closed loop of 2 x ``batch`` clients (Triton's max batch size is ``batch``),
  each submitting its next job when the last ended; per-job latency and jobs/s against the
  same closed loop of in-process generations (which batch the same way).

Also reads enqueue-to-start latency (created_at -> started_at of each 1-in-flight job, with
idle workers) from the database, for the queue figure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import asyncpg

from bench.common import Api, Stack, ensure_tiny_model, generate_once, summary

# A pause before each measurement: torch's OpenMP threads keep spinning for a while after
# work, and the other path's processes finish their tails; neither should be measured.
SETTLE_S = 0.3


async def _one(api: Api, steps: int, size: int, seed: int) -> tuple[float, str]:
    began = time.perf_counter()
    job_id = await api.generate(steps, size, seed)
    subscription = await api.subscribe(job_id)
    try:
        await subscription.until("SUCCEEDED")
    finally:
        await subscription.close()
    return time.perf_counter() - began, job_id


async def _local_backend(stack: Stack, batch: int) -> Any:
    """The stack's model on the stack's device, in this process."""
    from neurall.gpu.embedded import EmbeddedBackend

    cache_dir = ensure_tiny_model() if stack.model == "tiny" else None
    backend = EmbeddedBackend(stack.model, cache_dir, device=stack.device, max_batch_size=batch)
    await backend.start()
    return backend


async def _local_one(backend: Any, steps: int, size: int, seed: int) -> float:
    began = time.perf_counter()
    await generate_once(backend, steps, size, seed)
    return time.perf_counter() - began


async def measure(
    stack: Stack, steps: int, size: int, singles: int, rounds: int, batch: int, per_client: int
) -> dict[str, dict[str, Any]]:
    """Both paths, interleaved (in-process, then distributed, per repetition), so load from
    other users of the machine falls on both alike; the stack idles while in-process runs.

    Besides the times, each side's pipeline during the saturation rounds: the sizes of its
    calls (how batches formed) and its busy seconds (how busy it was kept, and how long a
    call took)."""
    backend = await _local_backend(stack, batch)
    figures = ("single_s", "saturated_s", "jobs_per_s", "round_s")
    dist: dict[str, list[float]] = {figure: [] for figure in figures}
    local: dict[str, list[float]] = {figure: [] for figure in figures}
    pipelines: dict[str, dict[str, Any]] = {}
    ids: list[str] = []
    try:
        async with Api(stack.api) as api:
            await _local_one(backend, steps, size, 0)  # warm-up both
            await _one(api, steps, size, 0)
            for i in range(singles):
                await asyncio.sleep(SETTLE_S)
                local["single_s"].append(await _local_one(backend, steps, size, 1 + i))
                await asyncio.sleep(SETTLE_S)
                seconds, job_id = await _one(api, steps, size, 1 + i)
                dist["single_s"].append(seconds)
                ids.append(job_id)
            # Saturation: a closed loop of 2 x batch clients, each submitting its next job as
            # soon as the last one ended, so a backlog is always waiting for the pipeline
            # (a single burst would measure how the burst straddles the batching window).
            clients = 2 * batch
            counters = {"distributed": stack.pipeline_stats, "in_process": backend.runner.stats}
            before = {name: read() for name, read in counters.items()}

            async def local_client(seeds: Iterator[int]) -> list[float]:
                return [await _local_one(backend, steps, size, next(seeds))
                        for _ in range(per_client)]  # fmt: skip

            async def dist_client(seeds: Iterator[int]) -> list[float]:
                return [(await _one(api, steps, size, next(seeds)))[0]
                        for _ in range(per_client)]  # fmt: skip

            for r in range(rounds):
                for side, client in ((local, local_client), (dist, dist_client)):
                    # The same seeds on both sides: the same requests.
                    first = 10_000 * (r + 1)
                    seeds = iter(range(first, first + clients * per_client))
                    await asyncio.sleep(SETTLE_S)
                    began = time.perf_counter()
                    done = await asyncio.gather(*(client(seeds) for _ in range(clients)))
                    elapsed = time.perf_counter() - began
                    side["round_s"].append(elapsed)
                    side["jobs_per_s"].append(clients * per_client / elapsed)
                    side["saturated_s"].extend(t for times in done for t in times)
            for name, read in counters.items():
                pipelines[name] = _calls_since(before[name], read())
    finally:
        await backend.close()
    if stack.distributed:
        dist["enqueue_to_start_s"] = await _enqueue_to_start(stack.database_url, ids)
    return {"distributed": dist, "in_process": local, "pipelines": pipelines}


async def _enqueue_to_start(database_url: str, job_ids: list[str]) -> list[float]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT EXTRACT(EPOCH FROM (started_at - created_at)) AS s FROM job "
            "WHERE id = ANY($1::uuid[])",
            job_ids,
        )
    finally:
        await conn.close()
    return [float(r["s"]) for r in rows]


def run(quick: bool, stack: Stack) -> dict[str, Any]:
    """Needs a stack with a worker and Triton (max batch size 8)."""
    steps, size, batch = (2, 64, 8) if quick else (20, 64, 8)
    singles, rounds, per_client = (2, 1, 1) if quick else (10, 2, 3)
    return report(stack, steps, size, singles, rounds, batch, per_client)


def report(
    stack: Stack, steps: int, size: int, singles: int, rounds: int, batch: int, per_client: int
) -> dict[str, Any]:
    """Measure both paths and summarise them: medians, p99, overhead in ms and as a ratio."""
    both = asyncio.run(measure(stack, steps, size, singles, rounds, batch, per_client))
    dist, local, pipelines = both["distributed"], both["in_process"], both["pipelines"]
    d1, l1 = summary(dist["single_s"]), summary(local["single_s"])
    ds, ls = summary(dist["saturated_s"]), summary(local["saturated_s"])
    saturation = (
        {
            "end_to_end_ms": _ms(ds),
            "in_process_ms": _ms(ls),
            "overhead_ms": (ds["median"] - ls["median"]) * 1000,
            "overhead_ratio": (ds["median"] - ls["median"]) / ls["median"],
            "jobs_per_s": summary(dist["jobs_per_s"])["median"],
            "in_process_jobs_per_s": summary(local["jobs_per_s"])["median"],
            "pipeline": _pipeline_use(pipelines["distributed"], dist["round_s"]),
            "in_process_pipeline": _pipeline_use(pipelines["in_process"], local["round_s"]),
        }
        if rounds
        else None  # 1 in flight only (bench gpu-check's embedded stack)
    )
    return {
        "params": {
            "steps": steps,
            "size": size,
            "singles": singles,
            "rounds": rounds,
            "batch": batch,
            "saturation_clients": 2 * batch,
            "jobs_per_client": per_client,
            "batch_window_ms": stack.batch_window_ms,
        },
        "single": {
            "end_to_end_ms": _ms(d1),
            "in_process_ms": _ms(l1),
            "overhead_ms": (d1["median"] - l1["median"]) * 1000,
            "overhead_ratio": (d1["median"] - l1["median"]) / l1["median"],
        },
        "saturation": saturation,
        "enqueue_to_start_ms": _ms(summary(dist.get("enqueue_to_start_s", []))),
        "goal": "overhead < 5% of the pipeline's own time at 20 steps",
    }


def _calls_since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The pipeline calls between two readings of its counters (``BatchRunner.stats``)."""
    return {
        "batch_sizes": after["batch_sizes"][len(before["batch_sizes"]) :],
        "busy_s": after["busy_s"] - before["busy_s"],
    }


def _pipeline_use(calls: dict[str, Any], round_s: list[float]) -> dict[str, Any]:
    """How batches formed over the saturation rounds, how busy the pipeline was kept, and
    how long one of its calls took."""
    count = len(calls["batch_sizes"])
    return {
        "batch_sizes": calls["batch_sizes"],
        "busy_fraction": calls["busy_s"] / sum(round_s),
        "call_ms": 1000 * calls["busy_s"] / count if count else 0.0,
    }


def _ms(stats: dict[str, float]) -> dict[str, float]:
    return {k: (v * 1000 if k != "n" else v) for k, v in stats.items()}
