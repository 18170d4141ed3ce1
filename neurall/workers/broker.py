"""Which Dramatiq broker a process uses, and how the API side publishes to it.

- Embedded (no NEURALL_BROKER_URL): a StubBroker consumed by worker threads inside
  `neurall serve` (neurall.workers.embedded).
- Distributed: a RabbitmqBroker with ``confirm_delivery=True`` (a publish returns only once
  RabbitMQ has the message) and, in `neurall worker`, the AsyncIO middleware.

Nothing connects here: pika connects on the first enqueue or consume.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.middleware import AsyncIO

from neurall.config import Settings
from neurall.workers.delivery import NoteDelivery
from neurall.workers.observe import Observe, message_options


def build_broker(settings: Settings, *, worker: bool = False) -> dramatiq.Broker:
    if settings.is_embedded_broker:
        broker: dramatiq.Broker = StubBroker()
    else:
        broker = RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
        if worker:
            broker.add_middleware(AsyncIO())
    broker.add_middleware(Observe())
    broker.add_middleware(NoteDelivery())
    return broker


def enqueuer(actor: dramatiq.Actor) -> Callable[[uuid.UUID], Awaitable[None]]:
    async def enqueue(job_id: uuid.UUID) -> None:
        # pika is blocking: publish (and wait for RabbitMQ's confirm) off the loop. The
        # request id goes along, so the worker's lines about the job carry it too.
        await asyncio.to_thread(actor.send_with_options, args=(str(job_id),), **message_options())

    return enqueue


def queue_depth(broker: dramatiq.Broker, queue_name: str) -> Callable[[], Awaitable[int]]:
    """Messages waiting in ``queue_name`` and its delay queue, as the broker counts them.
    Neither counts the messages a worker has prefetched but not started: those jobs look
    unreceived and may get a second message, which the worker that starts second drops."""

    async def depth() -> int:
        if isinstance(broker, StubBroker):
            names = (queue_name, dq_name(queue_name))
            return sum(broker.queues[name].qsize() for name in names if name in broker.queues)
        # RabbitMQ's ready messages, by passive-style declares on a channel of this thread.
        ready, delayed, _dead = await asyncio.to_thread(
            broker.get_queue_message_counts,  # type: ignore[attr-defined]
            queue_name,
        )
        return int(ready) + int(delayed)

    return depth
