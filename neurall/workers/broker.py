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
from dramatiq.middleware import AsyncIO

from neurall.config import Settings
from neurall.workers.observe import Observe, message_options


def build_broker(settings: Settings, *, worker: bool = False) -> dramatiq.Broker:
    if settings.is_embedded_broker:
        broker: dramatiq.Broker = StubBroker()
    else:
        broker = RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
        if worker:
            broker.add_middleware(AsyncIO())
    broker.add_middleware(Observe())
    return broker


def enqueuer(actor: dramatiq.Actor) -> Callable[[uuid.UUID], Awaitable[None]]:
    async def enqueue(job_id: uuid.UUID) -> None:
        # pika is blocking: publish (and wait for RabbitMQ's confirm) off the loop. The
        # request id goes along, so the worker's lines about the job carry it too.
        await asyncio.to_thread(actor.send_with_options, args=(str(job_id),), **message_options())

    return enqueue
