"""The catalog's pipelines in one process: built on first use, kept within a memory budget.

A BatchRunner owns the pool and calls ``get`` on its thread only, so a model is built or
loaded where it will run, one at a time (MODEL_LOAD_LOCK), and never while a batch runs:
every loaded pipeline but the one being fetched is idle then. Entries marked ``preload``
are loaded when the runner starts (``preload``); the others on their first request.

The budget (bytes; 0: unlimited) bounds what loaded pipelines occupy, as measured at load
(``Pipeline.memory_bytes``: the allocator's growth on a GPU, parameter and buffer bytes on
a CPU). Before a model loads, the least recently used pipelines are unloaded until its last
measured size fits (a model never loaded before counts as 0), and again after the load
until the measured total fits. A model bigger than the whole budget still loads, alone.
Pipelines handed in already loaded (``pipelines``) are never unloaded: their owner shares
them.

``states`` tells any thread which models are READY (loaded), LOADING or COLD, and
``load_seconds`` how long each model took to load when it last did (what a job that must
wait for a load is told to expect).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from neurall.gpu.catalog import ModelSpec
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.types import InferenceError

logger = logging.getLogger(__name__)

READY = "READY"
LOADING = "LOADING"
COLD = "COLD"


class ModelPool:
    """Pipelines by catalog id; ``load(spec)`` builds one (on the runner's thread)."""

    def __init__(
        self,
        specs: Iterable[ModelSpec],
        load: Callable[[ModelSpec], Pipeline],
        *,
        memory_budget_bytes: int = 0,
        pipelines: Iterable[Pipeline] = (),
    ) -> None:
        self._specs: dict[str, ModelSpec] = {spec.id: spec for spec in specs}
        self._load = load
        self._budget = max(0, memory_budget_bytes)
        self._lock = threading.Lock()
        # Least recently used first.
        self._loaded: OrderedDict[str, Pipeline] = OrderedDict()
        self._pinned: set[str] = set()
        self._loading: set[str] = set()
        # Each model's size and load time as last measured, kept after it unloads.
        self._sizes: dict[str, int] = {}
        self._load_seconds: dict[str, float] = {}
        # Ids in the order they were unloaded (logs, tests).
        self.unloaded: list[str] = []
        for pipeline in pipelines:
            self._specs.setdefault(pipeline.spec.id, pipeline.spec)
            self._loaded[pipeline.spec.id] = pipeline
            self._pinned.add(pipeline.spec.id)
            self._sizes[pipeline.spec.id] = pipeline.memory_bytes

    @property
    def specs(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def spec(self, model_id: str) -> ModelSpec | None:
        return self._specs.get(model_id)

    def states(self) -> dict[str, str]:
        """READY, LOADING or COLD for every model, in catalog order."""
        with self._lock:
            return {
                model_id: READY
                if model_id in self._loaded
                else LOADING
                if model_id in self._loading
                else COLD
                for model_id in self._specs
            }

    def load_seconds(self) -> dict[str, float]:
        """Seconds each model took to load, the last time it did (models never loaded here
        are left out)."""
        with self._lock:
            return dict(self._load_seconds)

    def loaded_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes[model_id] for model_id in self._loaded)

    def preload(self) -> None:
        """Load the entries marked ``preload`` (a failure raises: the process cannot serve)."""
        for spec in self._specs.values():
            if spec.preload:
                self.get(spec.id)

    def get(self, model_id: str) -> Pipeline:
        """The pipeline of ``model_id``, loaded now if it is not (runner thread only)."""
        with self._lock:
            pipeline = self._loaded.get(model_id)
            if pipeline is not None:
                self._loaded.move_to_end(model_id)
                return pipeline
            spec = self._specs.get(model_id)
            if spec is None:
                raise InferenceError(f"unknown model {model_id!r}")
            self._loading.add(model_id)
        try:
            self._make_room(self._sizes.get(model_id, 0), keep=model_id)
            began = time.monotonic()
            pipeline = self._load(spec)
            with self._lock:
                self._loaded[model_id] = pipeline
                self._sizes[model_id] = pipeline.memory_bytes
                self._load_seconds[model_id] = time.monotonic() - began
        finally:
            with self._lock:
                self._loading.discard(model_id)
        logger.info("model %s loaded (%d MB)", model_id, pipeline.memory_bytes // 2**20)
        self._make_room(0, keep=model_id)
        return pipeline

    def _make_room(self, needed: int, keep: str) -> None:
        if not self._budget:
            return
        while True:
            with self._lock:
                used = sum(self._sizes[m] for m in self._loaded)
                if used + needed <= self._budget:
                    return
                victims = [m for m in self._loaded if m != keep and m not in self._pinned]
                if not victims:
                    logger.warning(
                        "models need %d MB, over the memory budget of %d MB; nothing left to "
                        "unload",
                        (used + needed) // 2**20,
                        self._budget // 2**20,
                    )
                    return
                victim = victims[0]
                pipeline = self._loaded.pop(victim)
                self.unloaded.append(victim)
            logger.info("unloading model %s to stay within the memory budget", victim)
            pipeline.release()

    def close(self) -> None:
        """Unload everything this pool loaded."""
        with self._lock:
            owned = [(m, p) for m, p in self._loaded.items() if m not in self._pinned]
            self._loaded.clear()
        for _model_id, pipeline in owned:
            pipeline.release()
