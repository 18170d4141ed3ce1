"""Job events and the bus that carries them from workers to subscriptions.

Two implementations behind one interface: ``MemoryEventBus`` (in-process pub/sub, for
`neurall serve` alone) and ``RabbitEventBus`` (a RabbitMQ topic exchange via aio-pika, for
workers on other machines). Events never carry prompts or parameters, only progress and the
ids of result images, so they may cross the network and sit in RabbitMQ's memory freely.
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
from typing import Any, Protocol


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


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, event: JobEventData) -> None:
        """Deliver to every current subscriber of the event's job (at most once)."""

    def subscribe(
        self, job_id: uuid.UUID
    ) -> AbstractAsyncContextManager[AsyncIterator[JobEventData]]:
        """Live events of one job from now on, until the context exits."""


class MemoryEventBus:
    """In-process pub/sub: a queue per subscriber. Publish and subscribe on one loop."""

    def __init__(self) -> None:
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[JobEventData]]] = defaultdict(set)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    async def publish(self, event: JobEventData) -> None:
        for queue in list(self._subscribers.get(event.job_id, ())):
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, job_id: uuid.UUID) -> AsyncIterator[AsyncIterator[JobEventData]]:
        queue: asyncio.Queue[JobEventData] = asyncio.Queue()
        self._subscribers[job_id].add(queue)

        async def events() -> AsyncIterator[JobEventData]:
            while True:
                yield await queue.get()

        try:
            yield events()
        finally:
            subscribers = self._subscribers.get(job_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[job_id]
