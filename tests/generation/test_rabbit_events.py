"""The RabbitMQ event bus against the real RabbitMQ: routing by job, order, and many
subscriptions ending by cancellation (as websockets closing do) without breaking the
connection for everyone else."""

from __future__ import annotations

import asyncio
import os
import uuid

from neurall.workers.events import EventType, JobEventData
from neurall.workers.rabbit_events import RabbitEventBus

BROKER_URL = os.environ.get("NEURALL_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")


def event(job_id: uuid.UUID, seq: int) -> JobEventData:
    return JobEventData(
        seq=seq, job_id=job_id, type=EventType.PROGRESS, status="RUNNING", step=seq,
        total_steps=100, progress=seq / 100,
    )  # fmt: skip


async def take(events, count: int) -> list[int]:
    return [(await asyncio.wait_for(anext(events), 10)).seq for _ in range(count)]


async def test_routing_order_and_cancelled_subscriptions():
    publisher, api = RabbitEventBus(BROKER_URL), RabbitEventBus(BROKER_URL)
    await publisher.start()
    await api.start()
    try:
        a, b = uuid.uuid4(), uuid.uuid4()
        async with api.subscribe(a) as first, api.subscribe(a) as second, api.subscribe(b) as other:
            for seq in range(1, 21):
                await publisher.publish(event(a, seq))
            await publisher.publish(event(b, 7))
            assert await take(first, 20) == list(range(1, 21))
            assert await take(second, 20) == list(range(1, 21))
            assert await take(other, 1) == [7]

        # Subscriptions whose task is cancelled mid-wait, many at once and back to back.
        async def watch(job_id: uuid.UUID, ready: asyncio.Event) -> None:
            async with api.subscribe(job_id) as events:
                ready.set()
                await anext(events)

        for _ in range(5):
            readies = [asyncio.Event() for _ in range(20)]
            tasks = [asyncio.create_task(watch(uuid.uuid4(), r)) for r in readies]
            await asyncio.gather(*(r.wait() for r in readies))
            for task in tasks:
                task.cancel()
            # Cancelled again while cleaning up (a socket closing as its operation ends),
            # which is when the old per-subscription channel's Close RPC broke the connection.
            for _ in range(3):
                await asyncio.sleep(0)
                for task in tasks:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        # The connection still works both ways.
        c = uuid.uuid4()
        async with api.subscribe(c) as events:
            await publisher.publish(event(c, 1))
            await api.publish(event(c, 2))
            assert await take(events, 2) == [1, 2]
    finally:
        await api.close()
        await publisher.close()
