"""The RabbitMQ event bus against the real RabbitMQ: routing by job, order, and many
subscriptions ending by cancellation (as websockets closing do) without breaking the
connection for everyone else."""

from __future__ import annotations

import asyncio
import uuid

from neurall.bus.events import EventType, JobEventData
from neurall.bus.rabbit import RabbitEventBus
from neurall.clones.events import CloneEventData, make_clone_event_bus


def event(job_id: uuid.UUID, seq: int) -> JobEventData:
    return JobEventData(
        seq=seq, job_id=job_id, type=EventType.PROGRESS, status="RUNNING", step=seq,
        total_steps=100, progress=seq / 100,
    )  # fmt: skip


async def take(events, count: int) -> list[int]:
    return [(await asyncio.wait_for(anext(events), 10)).seq for _ in range(count)]


async def test_routing_order_and_cancelled_subscriptions(broker_url):
    publisher, api = RabbitEventBus(broker_url), RabbitEventBus(broker_url)
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

        # The connection still works both ways. Two connections' publishes have no order
        # between them, so each is received before the next is sent.
        c = uuid.uuid4()
        async with api.subscribe(c) as events:
            await publisher.publish(event(c, 1))
            assert await take(events, 1) == [1]
            await api.publish(event(c, 2))
            assert await take(events, 1) == [2]
    finally:
        await api.close()
        await publisher.close()


async def test_clone_events_share_the_bus_but_not_the_exchange(broker_url):
    """Clone training events ride the same bus class on their own exchange: a job and a
    clone with the same id never see each other's events."""
    jobs, clones = RabbitEventBus(broker_url), make_clone_event_bus(broker_url)
    await jobs.start()
    await clones.start()
    try:
        same_id = uuid.uuid4()
        training = CloneEventData(clone_id=same_id, status="TRAINING", step=3, total_steps=9)
        async with clones.subscribe(same_id) as clone_events, jobs.subscribe(same_id) as job_events:
            await jobs.publish(event(same_id, 1))
            await clones.publish(training)
            assert await asyncio.wait_for(anext(clone_events), 10) == training
            assert await take(job_events, 1) == [1]
    finally:
        await clones.close()
        await jobs.close()
