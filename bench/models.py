"""Several models in one process: the cost of serving the catalog side by side.

- **Spread**: the same jobs (JOBS concurrent, each model's share compatible with each
  other) either run model after model (every model's jobs together, then the next model's:
  the baseline, each model batched as well as it can be) or all at once across the three
  loaded models (what a mixed queue sends). The ratio is spread images/s over the
  model-after-model images/s; the goal is at least 0.8: switching between loaded models
  costs little.
- **Cold start**: the first job on a COLD model (its pipeline built or loaded on demand)
  against the next job on it, READY. The difference is the load's cost, which a job for a
  COLD model waits for.

It runs the embedded backend (the same pipelines and batch runner `neurall gpu` serves), on
the built-in tiny models unless a catalog file is given with ``--models-file``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.common import MODELS, PROMPT, summary

JOBS = 12


def _request(model_id: str, steps: int, size: int, seed: int) -> Any:
    from neurall.gpu.types import GenerationRequest

    return GenerationRequest(
        prompt=PROMPT, negative_prompt=None, width=size, height=size, steps=steps,
        guidance_scale=3.5, seed=seed, num_images=1, model=model_id,
    )  # fmt: skip


async def _run(backend: Any, requests: list[Any]) -> float:
    """Seconds for ``requests``, all sent at once."""
    from neurall.gpu.types import GenerationResult

    async def one(request: Any) -> None:
        async for item in backend.generate(request):
            if isinstance(item, GenerationResult):
                return

    began = time.perf_counter()
    await asyncio.gather(*(one(request) for request in requests))
    return time.perf_counter() - began


def _backend(catalog: Any) -> Any:
    from neurall.gpu.embedded import EmbeddedBackend

    return EmbeddedBackend(models=list(catalog), cache_dir=MODELS, device="cpu", max_batch_size=8)


async def _spread(catalog: Any, rounds: int, steps: int, size: int) -> dict[str, Any]:
    ids = [spec.id for spec in catalog]
    backend = _backend(catalog)
    await backend.start()
    try:
        for model_id in ids:  # load every model before timing
            await _run(backend, [_request(model_id, steps, size, 1)])
        one_by_one, spread = [], []
        for r in range(rounds):
            seeds = range(100 + r * JOBS, 100 + (r + 1) * JOBS)
            jobs = [_request(ids[seed % len(ids)], steps, size, seed) for seed in seeds]
            by_model = [[job for job in jobs if job.model == model_id] for model_id in ids]
            elapsed = 0.0
            for group in by_model:
                elapsed += await _run(backend, group)
            one_by_one.append(JOBS / elapsed)
            spread.append(JOBS / await _run(backend, jobs))
    finally:
        await backend.close()
    after, mixed = summary(one_by_one), summary(spread)
    return {
        "model_after_model_images_per_s": after,
        "spread_images_per_s": mixed,
        "ratio": mixed["median"] / after["median"],
        "goal": ">= 0.8 with all models loaded",
    }


async def _cold(catalog: Any, steps: int, size: int) -> dict[str, Any]:
    # The first entry not preloaded: its first job pays for its load.
    spec = next((s for s in catalog if not s.preload), catalog.default)
    backend = _backend(catalog)
    await backend.start()
    try:
        states = await backend.model_states()
        cold = await _run(backend, [_request(spec.id, steps, size, 1)])
        ready = await _run(backend, [_request(spec.id, steps, size, 2)])
    finally:
        await backend.close()
    return {
        "model": spec.id,
        "state_before": states[spec.id],
        "cold_first_job_s": cold,
        "ready_job_s": ready,
        "load_cost_s": cold - ready,
    }


def run(quick: bool = False, models_file: Path | None = None) -> dict[str, Any]:
    from neurall.gpu.catalog import catalog_for

    catalog = catalog_for(models_file)
    rounds, steps, size = (1, 2, 64) if quick else (3, 8, 64)
    spread = asyncio.run(_spread(catalog, rounds, steps, size))
    cold = asyncio.run(_cold(catalog, steps, size))
    return {
        "params": {"jobs": JOBS, "rounds": rounds, "steps": steps, "size": size,
                   "models": [spec.id for spec in catalog]},
        "spread": spread,
        "cold": cold,
    }  # fmt: skip
