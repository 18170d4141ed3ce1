"""Job events and the bus that carries events from workers to subscriptions.

Two implementations behind one interface: ``MemoryEventBus`` (in-process pub/sub, for
`neurall serve` alone) and ``RabbitEventBus`` (a RabbitMQ topic exchange via aio-pika, for
workers on other machines). The bus is generic over the event: job events here, clone
training events in neurall.clones.events; an event names its ``topic`` (the job's or
clone's id) and serialises itself. Events never carry prompts or parameters, only progress
and the ids of result images, so they may cross the network and sit in RabbitMQ's memory
freely.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar


class EventType(StrEnum):
    QUEUED = "QUEUED"
    POSITION = "POSITION"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    PREVIEW = "PREVIEW"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


TERMINAL_EVENTS = frozenset({EventType.SUCCEEDED, EventType.FAILED, EventType.CANCELED})


@dataclass(frozen=True)
class ImageRef:
    """A stored image as events and the API describe it (the URL is built from ``id``)."""

    id: str
    width: int
    height: int
    seed: int
    content_type: str = "image/png"
    expires_at: datetime | None = None
    # Set for previews: a data: URL carrying the (small) image itself, used as is.
    url: str | None = None
    # The safety checker flagged it (see neurall.gpu.safety).
    flagged: bool = False


@dataclass(frozen=True)
class JobEventData:
    seq: int
    job_id: uuid.UUID
    type: EventType
    status: str
    step: int
    total_steps: int
    progress: float
    queue_position: int | None = None
    eta_seconds: float | None = None
    preview: ImageRef | None = None
    images: list[ImageRef] = field(default_factory=list)
    error: str | None = None

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_EVENTS

    @property
    def topic(self) -> uuid.UUID:
        return self.job_id

    def to_json(self) -> bytes:
        data = asdict(self)
        data["job_id"] = str(self.job_id)
        for image in [data["preview"], *data["images"]]:
            if image and image["expires_at"] is not None:
                image["expires_at"] = image["expires_at"].isoformat()
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> JobEventData:
        data: dict[str, Any] = json.loads(raw)

        def image(value: dict[str, Any] | None) -> ImageRef | None:
            if value is None:
                return None
            expires = value.get("expires_at")
            value["expires_at"] = datetime.fromisoformat(expires) if expires else None
            return ImageRef(**value)

        data["job_id"] = uuid.UUID(data["job_id"])
        data["type"] = EventType(data["type"])
        data["preview"] = image(data["preview"])
        data["images"] = [image(i) for i in data["images"]]
        return cls(**data)


class BusEvent(Protocol):
    """What a bus carries: an event that names its topic and serialises itself."""

    @property
    def topic(self) -> uuid.UUID: ...

    def to_json(self) -> bytes: ...


E = TypeVar("E", bound=BusEvent)


class EventBus(Protocol[E]):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def is_connected(self) -> bool:
        """Whether events flow now (False while a broker-backed bus is reconnecting)."""

    async def publish(self, event: E) -> None:
        """Deliver to every current subscriber of the event's topic (at most once)."""

    def subscribe(self, topic: uuid.UUID) -> AbstractAsyncContextManager[AsyncIterator[E]]:
        """Live events of one topic (a job, a clone) from now on, until the context exits."""


class LocalSubscribers(Generic[E]):
    """The subscriptions of one process: a queue per subscriber, by topic. Both buses fan
    out through it (the RabbitMQ one after its single consumer receives an event)."""

    def __init__(self) -> None:
        self._queues: dict[uuid.UUID, set[asyncio.Queue[E | BaseException]]] = defaultdict(set)

    def deliver(self, event: E) -> None:
        for queue in list(self._queues.get(event.topic, ())):
            queue.put_nowait(event)

    def fail_all(self, error: BaseException) -> None:
        """End every subscription with ``error`` (the bus lost events it cannot replay)."""
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(error)

    def watched(self, topic: uuid.UUID) -> bool:
        return topic in self._queues

    def clear(self) -> None:
        self._queues.clear()

    def add(self, topic: uuid.UUID) -> tuple[asyncio.Queue[E | BaseException], AsyncIterator[E]]:
        queue: asyncio.Queue[E | BaseException] = asyncio.Queue()
        self._queues[topic].add(queue)

        async def events() -> AsyncIterator[E]:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item

        return queue, events()

    def remove(self, topic: uuid.UUID, queue: asyncio.Queue[E | BaseException]) -> bool:
        """Drop one subscriber; True when it was the topic's last."""
        queues = self._queues.get(topic)
        if queues is None:
            return False
        queues.discard(queue)
        if queues:
            return False
        del self._queues[topic]
        return True


class MemoryEventBus(Generic[E]):
    """In-process pub/sub. Publish and subscribe on one loop."""

    def __init__(self) -> None:
        self._local: LocalSubscribers[E] = LocalSubscribers()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._local.clear()

    def is_connected(self) -> bool:
        return True

    async def publish(self, event: E) -> None:
        self._local.deliver(event)

    @asynccontextmanager
    async def subscribe(self, topic: uuid.UUID) -> AsyncIterator[AsyncIterator[E]]:
        queue, events = self._local.add(topic)
        try:
            yield events
        finally:
            self._local.remove(topic, queue)


JobEventBus = EventBus[JobEventData]
