"""The event bus on a RabbitMQ topic exchange (aio-pika).

Workers publish each event to the ``neurall.job_events`` exchange with routing key
``job.<job id>``; each subscription in an API server declares its own exclusive, auto-delete
queue bound to that key, so it receives only its job's events and the queue disappears with
the subscription (or the connection). Events are transient messages: they are progress, not
records; the database row is the record a reconnecting client starts from.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from neurall.workers.events import JobEventData

EXCHANGE = "neurall.job_events"


class RabbitEventBus:
    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        self._channel = await self._connection.channel()
        self._exchange = await self._channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def close(self) -> None:
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
            routing_key=f"job.{event.job_id}",
        )

    @asynccontextmanager
    async def subscribe(self, job_id: uuid.UUID) -> AsyncIterator[AsyncIterator[JobEventData]]:
        assert self._connection is not None, "start() first"
        # A channel per subscription: closing it drops the queue and its consumer together.
        channel = await self._connection.channel()
        try:
            exchange = await channel.declare_exchange(
                EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key=f"job.{job_id}")

            async def events() -> AsyncIterator[JobEventData]:
                async with queue.iterator(no_ack=True) as messages:
                    async for message in messages:
                        yield JobEventData.from_json(message.body)

            yield events()
        finally:
            if not channel.is_closed:
                await channel.close()
