"""Queue and events on RabbitMQ, and the fan-out of jobEvents subscriptions.

- enqueue-to-start: sequential 1-step jobs with idle workers; ``started_at - created_at``
  of each job row (the row is created, the message published with confirms, a worker
  consumes it and marks the job started).
- publish-to-receive: events published to the RabbitMQ topic exchange exactly as a worker
  publishes them (``RabbitEventBus``), received on a real graphql-transport-ws subscription
  through `neurall serve`; both ends in this process, so one clock measures them.
- fan-out: ``subscribers`` concurrent subscriptions (one websocket each) on one API
  process, spread over 10 queued jobs; the API's RSS growth per subscription and the
  delivery latency of events published to those jobs. Its baseline is the same client and
  rounds against a bare aiohttp server writing one pre-serialized message to every socket
  (``bench.broadcast_server``): what the machine and the client cost without the service.

The jobs of the last two stay QUEUED (no worker runs then), and the published events carry
seq numbers above anything the job has sent, so subscribers take them as live events.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from bench.common import (
    ROOT,
    Api,
    Stack,
    Subscription,
    free_port,
    rss_bytes,
    server_popen_options,
    summary,
    wait_http,
)
from bench.overhead import _enqueue_to_start

SEQ_BASE = 1_000_000


async def _publisher(broker: str) -> Any:
    from neurall.bus.rabbit import RabbitEventBus

    bus = RabbitEventBus(broker)
    await bus.start()
    return bus


def _event(job_id: str, seq: int) -> Any:
    from neurall.bus.events import EventType, JobEventData

    return JobEventData(
        seq=seq, job_id=uuid.UUID(job_id), type=EventType.PROGRESS, status="RUNNING",
        step=1, total_steps=20, progress=0.05,
    )  # fmt: skip


async def _receive_all(
    subs: list[tuple[str, Subscription]], sent: dict[tuple[str, int], float], count: int
) -> list[float]:
    """Latency of each of ``count`` events on every subscription."""
    latencies: list[float] = []

    async def drain(job_id: str, sub: Subscription) -> None:
        for _ in range(count):
            event = await sub.next(within=60)
            assert event is not None
            latencies.append(time.perf_counter() - sent[(job_id, event["seq"])])

    await asyncio.gather(*(drain(j, s) for j, s in subs))
    return latencies


async def _publish_to_receive(stack: Stack, api: Api, count: int) -> list[float]:
    job_id = await api.generate(1, 64, 1)
    sub = await api.subscribe(job_id)
    await sub.next()  # the snapshot: the subscription is live from here
    bus = await _publisher(stack.env["NEURALL_BROKER_URL"])
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    try:
        for i in range(count):
            seq = SEQ_BASE + i
            sent[(job_id, seq)] = time.perf_counter()
            await bus.publish(_event(job_id, seq))
            event = await sub.next(within=30)
            assert event is not None
            assert event["seq"] == seq
            latencies.append(time.perf_counter() - sent[(job_id, seq)])
            await asyncio.sleep(0.01)  # one event at a time, like steps
    finally:
        await sub.close()
        await bus.close()
    return latencies


async def _enqueue_jobs(api: Api, count: int) -> list[str]:
    ids = []
    for i in range(count):
        job_id = await api.generate(1, 64, 500 + i)
        sub = await api.subscribe(job_id)
        try:
            await sub.until("SUCCEEDED")
        finally:
            await sub.close()
        ids.append(job_id)
        await asyncio.sleep(0.05)  # the worker is idle again when the next one comes
    return ids


async def _fan_out(stack: Stack, api: Api, subscribers: int, rounds: int) -> dict[str, Any]:
    jobs = [await api.generate(1, 64, 900 + i) for i in range(10)]
    serve_pid = stack.processes["serve"].pid
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = await Subscription.open(stack.api, api.key, jobs[0], session)
        await warm.next()
        await warm.close()
        await asyncio.sleep(0.5)
        before = rss_bytes(serve_pid)
        subs: list[tuple[str, Subscription]] = []
        for batch in range(0, subscribers, 50):
            opened = await asyncio.gather(
                *(
                    Subscription.open(stack.api, api.key, jobs[i % len(jobs)], session)
                    for i in range(batch, min(subscribers, batch + 50))
                )
            )
            await asyncio.gather(*(s.next() for s in opened))  # each got its snapshot
            subs.extend((jobs[(batch + k) % len(jobs)], s) for k, s in enumerate(opened))
        await asyncio.sleep(1.0)
        after = rss_bytes(serve_pid)
        bus = await _publisher(stack.env["NEURALL_BROKER_URL"])
        sent: dict[tuple[str, int], float] = {}
        latencies: list[float] = []
        try:
            for r in range(rounds):
                receiving = asyncio.create_task(_receive_all(subs, sent, 1))
                for job_id in jobs:
                    sent[(job_id, SEQ_BASE + r)] = time.perf_counter()
                    await bus.publish(_event(job_id, SEQ_BASE + r))
                latencies.extend(await receiving)
                await asyncio.sleep(0.2)
        finally:
            await bus.close()
            await asyncio.gather(*(s.close() for _, s in subs), return_exceptions=True)
    return {
        "subscriptions": subscribers,
        "jobs": len(jobs),
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "kb_per_subscription": (after - before) / subscribers / 1024,
        "delivery_ms": {k: v * 1000 if k != "n" else v for k, v in summary(latencies).items()},
        "goal": "< 100 KB per subscription, p99 < 50 ms",
    }


@contextmanager
def _broadcast_server() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.broadcast_server", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **server_popen_options(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/fire?topic=-&seq=0", server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


async def _bare_fan_out(base: str, subscribers: int, rounds: int) -> list[float]:
    """The baseline: the same client and rounds against ``bench.broadcast_server``."""
    topics = [str(i) for i in range(10)]
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def connect(topic: str) -> tuple[str, Subscription]:
            socket = await session.ws_connect(
                f"{base}/ws?topic={topic}", protocols=["graphql-transport-ws"], heartbeat=None
            )
            return topic, Subscription(socket, session, owns_session=False)

        subs: list[tuple[str, Subscription]] = []
        for batch in range(0, subscribers, 50):
            end = min(subscribers, batch + 50)
            subs += await asyncio.gather(*(connect(topics[i % 10]) for i in range(batch, end)))
        await asyncio.sleep(1.0)

        async def fire(topic: str, seq: int) -> None:
            sent[(topic, seq)] = time.perf_counter()
            async with session.get(f"{base}/fire?topic={topic}&seq={seq}") as response:
                await response.read()

        for r in range(rounds):
            receiving = asyncio.create_task(_receive_all(subs, sent, 1))
            await asyncio.gather(*(fire(topic, SEQ_BASE + r) for topic in topics))
            latencies.extend(await receiving)
            await asyncio.sleep(0.2)
        await asyncio.gather(*(s.close() for _, s in subs), return_exceptions=True)
    return latencies


def run_queue(quick: bool, stack: Stack) -> dict[str, Any]:
    """Needs a stack with a worker; stops the worker for the event part."""
    jobs, events = (3, 20) if quick else (30, 300)

    async def body() -> dict[str, Any]:
        async with Api(stack.api) as api:
            await _enqueue_jobs(api, 1)  # warm-up
            ids = await _enqueue_jobs(api, jobs)
            starts = await _enqueue_to_start(stack.database_url, ids)
            stack.stop("worker")
            latencies = await _publish_to_receive(stack, api, events)
        return {
            "enqueue_to_start_ms": _ms(summary(starts)),
            "publish_to_receive_ms": _ms(summary(latencies)),
            "goal": "p99 < 20 ms each",
        }

    return asyncio.run(body())


def run_fanout(quick: bool, stack: Stack) -> dict[str, Any]:
    """Stops the stack's worker (if any) so that the subscribed jobs stay queued."""
    subscribers, rounds = (50, 3) if quick else (1000, 20)
    stack.stop("worker")

    async def body() -> dict[str, Any]:
        async with Api(stack.api) as api:
            return await _fan_out(stack, api, subscribers, rounds)

    results = asyncio.run(body())
    with _broadcast_server() as base:
        bare = asyncio.run(_bare_fan_out(base, subscribers, rounds))
    results["bare_broadcast_delivery_ms"] = _ms(summary(bare))
    return results


def _ms(stats: dict[str, float]) -> dict[str, float]:
    return {k: (v * 1000 if k != "n" else v) for k, v in stats.items()}
