"""Whether each catalog model is loaded somewhere: READY, LOADING or COLD (the contract's
ModelState), asked of the inference backend behind one function, ``model_states``.

A backend that knows (``async def model_states() -> dict[str, str]``, catalog id to
"READY", "LOADING" or "COLD") is asked directly; an id it leaves out, or a state it names
otherwise, reads COLD. A backend without that method serves one model: the default is READY
while the backend is started and ready, every other model COLD. An embedded backend is only
asked once it was started (by the first job): asking must never load a pipeline. A Triton
backend is started to be asked, which only opens a connection.

``expected_load_seconds`` is how long a model that is not loaded is expected to take to
load (what it took the last time, as the backend measured it), for the ETA of a job that
waits for it. It reads only what was heard: workers ask again in the background after each
job (``refresh_soon``), so a job's start never waits on a GPU server.

Answers are kept ``TTL_S`` seconds, so a page that lists the models on every visit asks the
GPU servers at most that often.
"""

from __future__ import annotations

import asyncio
import logging
import time
from enum import StrEnum

from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.backend import EMBEDDED, InferenceBackend
from neurall.gpu.catalog import Catalog

log = logging.getLogger(__name__)

TTL_S = 2.0
# One question to the backend takes at most this long; an answer that is late reads COLD.
ASK_TIMEOUT_S = 2.0


class ModelState(StrEnum):
    READY = "READY"
    LOADING = "LOADING"
    COLD = "COLD"


async def model_states(
    runtime: GenerationRuntime | None, catalog: Catalog
) -> dict[str, ModelState]:
    """Each model of ``catalog`` (by id) and its state now, at most ``TTL_S`` old. Without a
    runtime (a process that runs no generation) every model is COLD."""
    if runtime is None:
        return dict.fromkeys((spec.id for spec in catalog), ModelState.COLD)
    cached = runtime.model_states_cache
    if cached is not None and time.monotonic() - cached[0] < TTL_S:
        return cached[1]
    states = await _ask(runtime, catalog)
    runtime.model_states_cache = (time.monotonic(), states)
    return states


async def _ask(runtime: GenerationRuntime, catalog: Catalog) -> dict[str, ModelState]:
    backend = await _backend(runtime)
    if backend is None:
        return dict.fromkeys((spec.id for spec in catalog), ModelState.COLD)
    return await backend_states(backend, catalog)


async def backend_states(backend: InferenceBackend, catalog: Catalog) -> dict[str, ModelState]:
    """What one started backend says of each model of ``catalog`` (uncached)."""
    cold = dict.fromkeys((spec.id for spec in catalog), ModelState.COLD)
    try:
        ask = getattr(backend, "model_states", None)
        if ask is None:
            ready = await asyncio.wait_for(backend.ready(), ASK_TIMEOUT_S)
            return {**cold, catalog.default.id: ModelState.READY} if ready else cold
        reported = await asyncio.wait_for(ask(), ASK_TIMEOUT_S)
    except Exception as exc:
        # The models page must not fail because a GPU server is down: it shows COLD.
        log.warning("model states unavailable: %s", type(exc).__name__)
        return cold
    return {model_id: _state(reported.get(model_id)) for model_id in cold}


async def _backend(runtime: GenerationRuntime) -> InferenceBackend | None:
    backend = runtime.started_inference()
    if backend is None and runtime.settings.inference_url != EMBEDDED:
        backend = await runtime.inference()
    return backend


def _state(value: str | None) -> ModelState:
    try:
        return ModelState(value)
    except ValueError:
        return ModelState.COLD


def expected_load_seconds(runtime: GenerationRuntime, model_id: str) -> float | None:
    """How long a job that starts on ``model_id`` now will wait for its load, from what the
    backend said last (never asks: a job's start must not wait on a GPU server): the model's
    last load time when it was not READY, None when it was or when nothing is known."""
    heard = runtime.model_states_cache
    if heard is None or heard[1].get(model_id) == ModelState.READY:
        return None
    return runtime.model_load_seconds.get(model_id)


def refresh_soon(runtime: GenerationRuntime) -> None:
    """Ask the started backend for the states and load times in the background (one question
    at a time), for the starts that follow."""
    if runtime.model_states_refresh is None or runtime.model_states_refresh.done():
        runtime.model_states_refresh = asyncio.get_running_loop().create_task(refresh(runtime))


async def refresh(runtime: GenerationRuntime) -> None:
    """Ask the started backend (never starting one) for the states and load times now."""
    backend = runtime.started_inference()
    if backend is None:
        return
    states = await backend_states(backend, runtime.catalog)
    ask = getattr(backend, "model_load_seconds", None)
    load: dict[str, float] = {}
    if ask is not None:
        try:
            load = await asyncio.wait_for(ask(), ASK_TIMEOUT_S)
        except Exception as exc:
            log.warning("model load times unavailable: %s", type(exc).__name__)
    runtime.model_states_cache = (time.monotonic(), states)
    runtime.model_load_seconds = load
