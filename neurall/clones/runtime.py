"""What cloning needs at run time, chosen by settings: the event bus, temporary storage,
the model store, pricing and the training queue. One per process (the API server, which in
embedded mode also trains, and each `neurall worker`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from neurall.billing.pricing import Pricing
from neurall.clones.events import CloneEventBus, make_clone_event_bus
from neurall.clones.store import ModelStore
from neurall.config import Settings
from neurall.gpu.catalog import Catalog, ModelSpec, catalog_for
from neurall.storage import Storage

Enqueue = Callable[[uuid.UUID], Awaitable[None]]
TINY_LEARNING_RATE = 5e-2  # random weights move visibly only with a rate this large
MODEL_LEARNING_RATE = 1e-4  # the common rate for LoRA on real Stable Diffusion models


class CloneRuntime:
    def __init__(
        self,
        settings: Settings,
        *,
        bus: CloneEventBus,
        storage: Storage,
        store: ModelStore,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        # The models clones are trained on (each clone names its base model).
        self.catalog = (
            catalog if catalog is not None else catalog_for(settings.models_file, settings.model)
        )
        self.bus = bus
        self.storage = storage
        self.store = store
        self.pricing = Pricing.from_settings(settings)
        self._enqueue: Enqueue | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        storage: Storage,
        store: ModelStore,
        catalog: Catalog | None = None,
    ) -> CloneRuntime:
        return cls(
            settings,
            bus=make_clone_event_bus(None if settings.is_embedded_broker else settings.broker_url),
            storage=storage,
            store=store,
            catalog=catalog,
        )

    def resolution(self, base: ModelSpec) -> int:
        """Training resolution on ``base``: the setting (rounded down to the model's size
        step), or the model's native size."""
        side = self.settings.clone_training_resolution or base.native_width
        return max(base.size_multiple, side - side % base.size_multiple)

    def learning_rate(self, base: ModelSpec) -> float:
        if self.settings.clone_learning_rate:
            return self.settings.clone_learning_rate
        return TINY_LEARNING_RATE if base.builtin else MODEL_LEARNING_RATE

    def set_enqueue(self, enqueue: Enqueue) -> None:
        self._enqueue = enqueue

    async def enqueue(self, clone_id: uuid.UUID) -> None:
        if self._enqueue is None:
            raise RuntimeError("no training queue configured")
        await self._enqueue(clone_id)

    async def start(self) -> None:
        await self.bus.start()

    async def close(self) -> None:
        await self.bus.close()
