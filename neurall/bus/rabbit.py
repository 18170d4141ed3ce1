"""The event bus on a RabbitMQ topic exchange (aio-pika).

Workers publish each event to a topic exchange (``neurall.job_events`` with routing key
``job.<job id>``; clone training events use ``neurall.clone_events`` and ``clone.<id>``).
Each API process that has subscribers consumes from ONE exclusive, auto-delete queue of
its own, bound to the routing key of every topic someone in the process is watching, and
fans each event out to its local subscribers in memory (as the in-process bus does).
Events are transient messages: they are progress, not records; the database
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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Generic

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from neurall.bus.events import E, JobEventData, LocalSubscribers
from neurall.outages import ServiceUnavailableError, is_outage

log = logging.getLogger(__name__)

JOB_EXCHANGE = "neurall.job_events"


class RabbitEventBus(Generic[E]):
    def __init__(
        self,
        url: str,
        *,
        exchange: str = JOB_EXCHANGE,
        prefix: str = "job",
        decode: Callable[[bytes], E] = JobEventData.from_json,  # type: ignore[assignment]
    ) -> None:
        self._url = url
        self._exchange_name = exchange
        self._prefix = prefix
        self._decode = decode
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        # Consuming side, created on the first subscription (workers never subscribe).
        self._queue: AbstractQueue | None = None
        self._consume_exchange: AbstractExchange | None = None
        self._local: LocalSubscribers[E] = LocalSubscribers()
        self._bound: set[uuid.UUID] = set()
        self._binding = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def _routing_key(self, topic: uuid.UUID) -> str:
        return f"{self._prefix}.{topic}"

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        # The connection reconnects by itself, but events published meanwhile are lost:
        # subscriptions end with an error then, rather than go silent, and clients resume
        # from the job's row (afterSeq).
        self._connection.close_callbacks.add(self._lost)
        # No publisher confirms: events are transient progress (the row is the record), so
        # waiting for RabbitMQ's ack on every step would only add a round trip per event.
        # Order is kept either way: one channel delivers in publish order.
        self._channel = await self._connection.channel(publisher_confirms=False)
        self._exchange = await self._channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._local.clear()
        self._bound.clear()
        self._queue = None
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    def is_connected(self) -> bool:
        connection = self._connection
        return connection is not None and connection.connected.is_set()

    def _lost(self, _connection: object, _exc: BaseException | None = None) -> None:
        if self._connection is not None and not self._connection.close_called:
            log.warning("event bus: lost the broker; ending subscriptions")
            self._local.fail_all(ServiceUnavailableError("the event bus"))

    async def publish(self, event: E) -> None:
        """Publish, or drop the event while the broker is away: events are progress, not
        records (every subscriber was just told to resume from the job's row), and a
        change that is already committed must not fail for want of its announcement."""
        assert self._exchange is not None, "start() first"
        if not self.is_connected():
            return
        try:
            await self._publish(event)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("event bus: dropped an event (%s)", type(exc).__name__)

    async def _publish(self, event: E) -> None:
        assert self._exchange is not None
        await self._exchange.publish(
            aio_pika.Message(
                event.to_json(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
            ),
            routing_key=self._routing_key(event.topic),
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
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.consume(self._deliver, no_ack=True)
            self._consume_exchange = exchange
            self._queue = queue
        return self._queue

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        try:
            event = self._decode(message.body)
        except (ValueError, KeyError, TypeError):
            log.warning("dropped a malformed event from %s", self._exchange_name)
            return
        self._local.deliver(event)

    async def _bind(self, topic: uuid.UUID) -> None:
        async with self._binding:
            if topic in self._bound:
                return
            queue = await self._consumer_queue()
            assert self._consume_exchange is not None
            await queue.bind(self._consume_exchange, routing_key=self._routing_key(topic))
            self._bound.add(topic)

    async def _unbind_if_unwatched(self, topic: uuid.UUID) -> None:
        async with self._binding:
            if self._local.watched(topic) or topic not in self._bound:
                return
            if self._queue is None or self._consume_exchange is None:
                return
            self._bound.discard(topic)
            try:
                await self._queue.unbind(
                    self._consume_exchange, routing_key=self._routing_key(topic)
                )
            except Exception as exc:
                # The binding dies with the queue at the latest; events of an unwatched
                # topic that still arrive are dropped by LocalSubscribers.deliver.
                log.warning("could not unbind events", exc_info=not is_outage(exc))

    @asynccontextmanager
    async def subscribe(self, topic: uuid.UUID) -> AsyncIterator[AsyncIterator[E]]:
        queue, events = self._local.add(topic)
        try:
            # Bound before the caller reads the job's row, so no event falls in between.
            await self._bind(topic)
            yield events
        finally:
            if self._local.remove(topic, queue):
                # In a task of our own: the caller's task may be being cancelled, and a
                # cancelled RPC is what broke the connection before.
                task = asyncio.create_task(self._unbind_if_unwatched(topic))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
