"""The pipelines in this process: the default, so `neurall serve` alone is the whole service.

It serves the whole catalog: each model's pipeline is built on the runner's thread on its
first request (entries marked ``preload`` at start), kept in a ModelPool.

Inference runs on the BatchRunner's worker thread, never on the event loop; progress crosses
back with ``loop.call_soon_threadsafe`` into a per-generation asyncio.Queue. Concurrent
generations with compatible parameters (e.g. several worker threads busy at once) are batched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from neurall.gpu.adapter_files import AdapterFiles
from neurall.gpu.batching import BatchRunner
from neurall.gpu.catalog import ModelSpec, catalog_for
from neurall.gpu.optimization import Chooser
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.pool import COLD, ModelPool
from neurall.gpu.types import (
    GenerationRequest,
    GenerationResult,
    InferenceError,
    InferenceUnavailable,
    StepProgress,
)

logger = logging.getLogger(__name__)

_Item = StepProgress | GenerationResult | BaseException


class EmbeddedBackend:
    """InferenceBackend running the diffusers pipeline in-process."""

    def __init__(
        self,
        models: Iterable[ModelSpec] | str | None = None,
        cache_dir: Path | None = None,
        *,
        max_batch_size: int = 8,
        batch_window_s: float = 0.0,
        stats_path: Path | None = None,
        device: str | None = None,
        pipeline: Pipeline | None = None,
        pipelines: Iterable[Pipeline] = (),
        safety_checker: str = "",
        safety_policy: str = "blur",
        adapter_files: AdapterFiles | None = None,
        memory_budget_bytes: int = 0,
        optimization: Chooser | None = None,
    ) -> None:
        """``models``: the catalog's entries (a Catalog, or a list of ModelSpec); a string is
        the older one-model setting (see neurall.gpu.catalog.catalog_for). Already loaded
        pipelines (``pipeline``, ``pipelines``: shared by tests, or by a process that also
        serves Triton) are used as they are and never unloaded; without ``models``, they
        are the whole catalog (and without either, the built-in catalog is)."""
        given = [*([pipeline] if pipeline is not None else []), *pipelines]
        if isinstance(models, str):
            models = catalog_for(None, models)
        elif models is None:
            models = [p.spec for p in given] if given else catalog_for(None)
        self._specs = list(models)
        self._given = given
        self._memory_budget_bytes = memory_budget_bytes
        self._optimization = optimization
        self._adapter_files = adapter_files
        self._cache_dir = cache_dir
        self._device = device
        self._max_batch_size = max_batch_size
        self._batch_window_s = batch_window_s
        self._stats_path = stats_path
        self._safety = (safety_checker, safety_policy)
        self._pool: ModelPool | None = None
        self._runner: BatchRunner | None = None
        self._closed = False
        self._start_lock = asyncio.Lock()

    def _load(self) -> ModelPool:
        """The pool, with the preloaded entries loaded (on the runner's thread); a restart
        after close() keeps the pipelines already loaded."""
        if self._pool is not None:
            return self._pool
        pool = ModelPool(
            self._specs,
            self._load_one,
            memory_budget_bytes=self._memory_budget_bytes,
            pipelines=self._given,
        )
        pool.preload()
        return pool

    def _load_one(self, spec: ModelSpec) -> Pipeline:
        checker, policy = self._safety
        return Pipeline.load(
            spec,
            self._cache_dir,
            device=self._device,
            safety_checker=checker,
            safety_policy=policy,
            adapter_files=self._adapter_files,
            optimization=self._optimization(spec) if self._optimization else None,
        )

    @property
    def runner(self) -> BatchRunner | None:
        return self._runner

    @property
    def pool(self) -> ModelPool | None:
        return self._pool

    async def model_states(self) -> dict[str, str]:
        """Each catalog model's state: READY (built), LOADING (being built) or COLD."""
        if self._pool is None:
            return {spec.id: COLD for spec in self._specs}
        return self._pool.states()

    async def model_load_seconds(self) -> dict[str, float]:
        """Seconds each model took to load when it last did (left out: never loaded)."""
        return {} if self._pool is None else self._pool.load_seconds()

    async def start(self) -> None:
        async with self._start_lock:
            self._closed = False
            if self._runner is None:
                self._runner = BatchRunner(
                    self._load,
                    max_batch_size=self._max_batch_size,
                    batch_window_s=self._batch_window_s,
                    stats_path=self._stats_path,
                )
                # Loading (and building the tiny model) happens on the runner's thread.
                self._runner.start()
            try:
                # Shielded: a caller giving up must not cancel the loader's future, which
                # the runner thread completes either way.
                self._pool = await asyncio.shield(asyncio.wrap_future(self._runner.loaded))
            except Exception as exc:
                self._runner = None
                raise InferenceError(f"could not load the models: {exc}") from exc

    async def close(self) -> None:
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await asyncio.to_thread(runner.close)

    async def ready(self) -> bool:
        return self._runner is not None and self._runner.alive

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncIterator[StepProgress | GenerationResult]:
        if self._runner is None and not self._closed:
            # Lazily start, so a caller that forgot start() still works (the first
            # generation then includes the model load).
            await self.start()
        runner = self._runner
        if runner is None:
            raise InferenceUnavailable("the embedded backend is closed")
        if not any(spec.id == request.model for spec in self._specs):
            raise InferenceError(f"unknown model {request.model!r}")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Item] = asyncio.Queue()

        def deliver(item: _Item) -> None:
            # Runs on the worker thread. If the loop is gone the consumer is gone too.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, item)

        job = runner.submit(request, deliver, deliver)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, GenerationResult):
                    return
        finally:
            # Reached on normal completion too, where it is a no-op; on aclose() or an
            # exception in the consumer it stops the pipeline at the next step.
            job.cancel()
