"""Clone progress events, carried from training to ``cloneEvents`` by the same buses as
job events (neurall.bus.events): in-process for `neurall serve` alone, else the
RabbitMQ topic exchange ``neurall.clone_events`` with routing key ``clone.<id>``. Events
carry progress only (step, loss, status), never photos or file locations.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from neurall.bus.events import EventBus, MemoryEventBus
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

    @property
    def topic(self) -> uuid.UUID:
        return self.clone_id

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


CloneEventBus = EventBus[CloneEventData]


def make_clone_event_bus(broker_url: str | None) -> CloneEventBus:
    """In-process without a broker (`neurall serve` alone), else RabbitMQ."""
    if not broker_url:
        return MemoryEventBus[CloneEventData]()
    from neurall.bus.rabbit import RabbitEventBus

    return RabbitEventBus(
        broker_url, exchange=EXCHANGE, prefix="clone", decode=CloneEventData.from_json
    )
