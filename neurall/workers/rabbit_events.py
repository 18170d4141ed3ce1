"""The event bus on a RabbitMQ topic exchange (aio-pika).

Workers publish each event to the ``neurall.job_events`` exchange with routing key
``job.<job id>``. Each API process that has subscribers consumes from ONE exclusive,
auto-delete queue of its own, bound to ``job.<id>`` for every job someone in the process
is watching, and fans each event out to its local subscribers in memory (as the in-process
bus does). Events are transient messages: they are progress, not records; the database
row is the record a reconnecting client starts from.

Why one queue per process and not one channel and queue per subscription (the first
design): a subscription ends when its websocket closes, which cancels its task, which
cancelled the channel's Close RPC half-way; RabbitMQ then saw a channel reopened before it
was closed and closed the whole connection (``CHANNEL_ERROR - expected 'channel.open'``),
breaking every subscription and every publish of the process. The benchmark's fan-out
found it. Now unsubscribing only unbinds a routing key, in a task of the bus's own that no
caller can cancel; and 1,000 subscriptions cost 1,000 small in-memory queues, not 1,000
channels, queues and consumers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from neurall.workers.events import JobEventData

log = logging.getLogger(__name__)

EXCHANGE = "neurall.job_events"


def routing_key(job_id: uuid.UUID) -> str:
    return f"job.{job_id}"


class RabbitEventBus:
    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        # Consuming side, created on the first subscription (workers never subscribe).
        self._queue: AbstractQueue | None = None
        self._consume_exchange: AbstractExchange | None = None
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[JobEventData]]] = defaultdict(set)
        self._bound: set[uuid.UUID] = set()
        self._binding = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        # No publisher confirms: events are transient progress (the row is the record), so
        # waiting for RabbitMQ's ack on every step would only add a round trip per event.
        # Order is kept either way: one channel delivers in publish order.
        self._channel = await self._connection.channel(publisher_confirms=False)
        self._exchange = await self._channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._subscribers.clear()
        self._bound.clear()
        self._queue = None
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def publish(self, event: JobEventData) -> None:
        assert self._exchange is not None, "start() first"
        await self._exchange.publish(
            aio_pika.Message(
                event.to_json(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
            ),
            routing_key=routing_key(event.job_id),
            # An event nobody subscribed to is dropped quietly: returned as unroutable, it
            # would be logged whole by aiormq, preview images included (privacy: no images
            # in logs; tests/privacy/test_sentinel_sweep.py checks).
            mandatory=False,
        )

    async def _consumer_queue(self) -> AbstractQueue:
        if self._queue is None:
            assert self._connection is not None, "start() first"
            channel = await self._connection.channel()
            exchange = await channel.declare_exchange(
                EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.consume(self._deliver, no_ack=True)
            self._consume_exchange = exchange
            self._queue = queue
        return self._queue

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        try:
            event = JobEventData.from_json(message.body)
        except (ValueError, KeyError, TypeError):
            log.warning("dropped a malformed job event")
            return
        for queue in list(self._subscribers.get(event.job_id, ())):
            queue.put_nowait(event)

    async def _bind(self, job_id: uuid.UUID) -> None:
        async with self._binding:
            if job_id in self._bound:
                return
            queue = await self._consumer_queue()
            assert self._consume_exchange is not None
            await queue.bind(self._consume_exchange, routing_key=routing_key(job_id))
            self._bound.add(job_id)

    async def _unbind_if_unwatched(self, job_id: uuid.UUID) -> None:
        async with self._binding:
            if job_id in self._subscribers or job_id not in self._bound:
                return
            if self._queue is None or self._consume_exchange is None:
                return
            self._bound.discard(job_id)
            try:
                await self._queue.unbind(self._consume_exchange, routing_key=routing_key(job_id))
            except Exception:
                # The binding dies with the queue at the latest; events of an unwatched job
                # that still arrive are dropped by _deliver.
                log.warning("could not unbind job events", exc_info=True)

    @asynccontextmanager
    async def subscribe(self, job_id: uuid.UUID) -> AsyncIterator[AsyncIterator[JobEventData]]:
        queue: asyncio.Queue[JobEventData] = asyncio.Queue()
        self._subscribers[job_id].add(queue)
        try:
            # Bound before the caller reads the job's row, so no event falls in between.
            await self._bind(job_id)

            async def events() -> AsyncIterator[JobEventData]:
                while True:
                    yield await queue.get()

            yield events()
        finally:
            subscribers = self._subscribers.get(job_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[job_id]
                    # In a task of our own: the caller's task may be being cancelled, and a
                    # cancelled RPC is what broke the connection before.
                    task = asyncio.create_task(self._unbind_if_unwatched(job_id))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
