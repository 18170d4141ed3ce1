"""Clone progress events and the bus that carries them from training to ``cloneEvents``.

Like the job event bus (neurall.workers.events), with two implementations: in-process
pub/sub for `neurall serve` alone, and a RabbitMQ topic exchange (``neurall.clone_events``,
routing key ``clone.<id>``) when workers run elsewhere. Events carry progress only (step,
loss, status), never photos or file locations.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from neurall.orm.clones import ENDED_CLONE_STATUSES, Clone, CloneStatus

EXCHANGE = "neurall.clone_events"


@dataclass(frozen=True)
class CloneEventData:
    clone_id: uuid.UUID
    status: str
    step: int
    total_steps: int
    loss: float | None = None
    error: str | None = None
    source_images_deleted: bool = False

    @property
    def terminal(self) -> bool:
        return CloneStatus(self.status) in ENDED_CLONE_STATUSES

    @classmethod
    def of(cls, clone: Clone) -> CloneEventData:
        return cls(
            clone_id=clone.id,
            status=clone.status.value,
            step=clone.step,
            total_steps=clone.total_steps,
            loss=clone.loss,
            error=clone.error,
            source_images_deleted=clone.source_images_deleted,
        )

    def to_json(self) -> bytes:
        data = asdict(self)
        data["clone_id"] = str(self.clone_id)
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CloneEventData:
        data: dict[str, Any] = json.loads(raw)
        data["clone_id"] = uuid.UUID(data["clone_id"])
        return cls(**data)


class CloneEventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, event: CloneEventData) -> None:
        """Deliver to every current subscriber of the event's clone (at most once)."""

    def subscribe(
        self, clone_id: uuid.UUID
    ) -> AbstractAsyncContextManager[AsyncIterator[CloneEventData]]:
        """Live events of one clone from now on, until the context exits."""


class MemoryCloneEventBus:
    """In-process pub/sub: a queue per subscriber. Publish and subscribe on one loop."""

    def __init__(self) -> None:
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[CloneEventData]]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    async def publish(self, event: CloneEventData) -> None:
        for queue in list(self._subscribers.get(event.clone_id, ())):
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, clone_id: uuid.UUID) -> AsyncIterator[AsyncIterator[CloneEventData]]:
        queue: asyncio.Queue[CloneEventData] = asyncio.Queue()
        self._subscribers[clone_id].add(queue)

        async def events() -> AsyncIterator[CloneEventData]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            subscribers = self._subscribers.get(clone_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[clone_id]


class RabbitCloneEventBus:
    """Topic exchange; each subscription gets its own exclusive, auto-delete queue."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: Any = None
        self._exchange: Any = None

    async def start(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        self._exchange = await channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def publish(self, event: CloneEventData) -> None:
        import aio_pika

        assert self._exchange is not None, "start() first"
        await self._exchange.publish(
            aio_pika.Message(
                event.to_json(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
            ),
            routing_key=f"clone.{event.clone_id}",
        )

    @asynccontextmanager
    async def subscribe(self, clone_id: uuid.UUID) -> AsyncIterator[AsyncIterator[CloneEventData]]:
        import aio_pika

        assert self._connection is not None, "start() first"
        channel = await self._connection.channel()
        try:
            exchange = await channel.declare_exchange(
                EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key=f"clone.{clone_id}")

            async def events() -> AsyncIterator[CloneEventData]:
                async with queue.iterator(no_ack=True) as messages:
                    async for message in messages:
                        yield CloneEventData.from_json(message.body)

            yield events()
        finally:
            if not channel.is_closed:
                await channel.close()
