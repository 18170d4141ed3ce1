"""What generation needs at run time, chosen by settings: bus, payload store, storage,
inference and the queue. One per process: the API server (which in embedded mode also
runs the actors) and each `neurall worker` build their own.

Inference starts lazily, on the first job: an API server that only enqueues (distributed)
or a test that never generates does not load the pipeline.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from neurall.billing.pricing import Pricing
from neurall.bus.events import JobEventBus, JobEventData, MemoryEventBus
from neurall.clones.store import ModelStore, adapter_files
from neurall.config import Settings
from neurall.generation import turns
from neurall.gpu.backend import EMBEDDED, InferenceBackend, make_backend
from neurall.gpu.catalog import Catalog, catalog_for
from neurall.gpu.optimization import chooser, parse_batches
from neurall.heap import freeze_long_lived_objects
from neurall.storage import Storage
from neurall.storage.payloads import MemoryPayloadStore, PayloadStore, RabbitPayloadStore

Enqueue = Callable[[uuid.UUID], Awaitable[None]]
# How many generation messages wait on the broker (its queue and its delay queue).
QueueDepth = Callable[[], Awaitable[int]]


class GenerationRuntime:
    def __init__(
        self,
        settings: Settings,
        *,
        bus: JobEventBus,
        payloads: PayloadStore,
        storage: Storage,
        models: ModelStore,
        inference_factory: Callable[[], InferenceBackend] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        # The models jobs may name, and their prices: the app's (Services.catalog), or read
        # from the settings by a process of its own (raises CatalogError when unusable).
        self.catalog = (
            catalog if catalog is not None else catalog_for(settings.models_file, settings.model)
        )
        self.bus = bus
        self.payloads = payloads
        self.storage = storage
        self.models = models
        self.pricing = Pricing.from_settings(settings)
        # The queue's rule (fair turns, or FIFO) for this process's picks and positions.
        turns.use(turns.QueueRule(settings.queue_order, settings.fair_share_window_s))
        self._inference_factory = inference_factory or (
            lambda: _default_inference(settings, self.catalog)
        )
        self._inference: InferenceBackend | None = None
        self._inference_lock = asyncio.Lock()
        self._enqueue: Enqueue | None = None
        self._queue_depth: QueueDepth | None = None
        # neurall.generation.model_states keeps its last answers here: (when, states), each
        # model's last load time, and the question being asked in the background.
        self.model_states_cache: tuple[float, dict] | None = None
        self.model_load_seconds: dict[str, float] = {}
        self.model_states_refresh: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        storage: Storage,
        models: ModelStore,
        catalog: Catalog | None = None,
    ) -> GenerationRuntime:
        bus: JobEventBus
        payloads: PayloadStore
        if settings.is_embedded_broker:
            bus, payloads = MemoryEventBus[JobEventData](), MemoryPayloadStore()
        else:
            from neurall.bus.rabbit import RabbitEventBus

            bus = RabbitEventBus(settings.broker_url)
            payloads = RabbitPayloadStore(settings.broker_url, settings.api_payload_ttl_s)
        return cls(
            settings, bus=bus, payloads=payloads, storage=storage, models=models, catalog=catalog
        )

    def set_enqueue(self, enqueue: Enqueue, queue_depth: QueueDepth | None = None) -> None:
        """How jobs are sent, and (where the broker can tell) how many messages wait."""
        self._enqueue = enqueue
        self._queue_depth = queue_depth

    async def enqueue(self, job_id: uuid.UUID) -> None:
        if self._enqueue is None:
            raise RuntimeError("no queue configured")
        await self._enqueue(job_id)

    async def queue_depth(self) -> int | None:
        """Generation messages waiting on the broker; None where it cannot tell."""
        return None if self._queue_depth is None else await self._queue_depth()

    async def start(self) -> None:
        await self.bus.start()
        await self.payloads.start()

    def broker_connected(self) -> bool:
        """Whether the broker links this process holds are up (always, when embedded)."""
        return self.bus.is_connected() and self.payloads.is_connected()

    async def inference(self) -> InferenceBackend:
        async with self._inference_lock:
            if self._inference is None:
                backend = self._inference_factory()
                await backend.start()
                self._inference = backend
                # An embedded pipeline just loaded: keep collections off its objects.
                freeze_long_lived_objects()
            return self._inference

    def started_inference(self) -> InferenceBackend | None:
        """The backend if a job (or a caller of ``inference``) started it; never starts it."""
        return self._inference

    async def close(self) -> None:
        if self.model_states_refresh is not None:
            self.model_states_refresh.cancel()
        inference, self._inference = self._inference, None
        if inference is not None:
            await inference.close()
        await self.payloads.close()
        await self.bus.close()


def _default_inference(settings: Settings, catalog: Catalog) -> InferenceBackend:
    return make_backend(
        settings.inference_url,
        models=catalog,
        memory_budget_bytes=int(settings.gpu_memory_budget_mb * 2**20),
        optimization=chooser(
            settings.pipeline_compile,
            None,
            batches=parse_batches(settings.pipeline_compile_batches),
            cuda_graphs=settings.pipeline_cuda_graphs,
        ),
        cache_dir=settings.model_cache_dir,
        timeout_s=float(settings.inference_timeout_s),
        batch_window_s=settings.embedded_batch_window_ms / 1000,
        stats_path=settings.embedded_stats_file,
        safety_checker=settings.safety_checker,
        safety_policy=settings.safety_policy,
        # Only the embedded pipeline reads adapters itself; Triton's process has its own.
        adapter_files=adapter_files(settings) if settings.inference_url == EMBEDDED else None,
    )
