"""The pipeline part of `python -m bench gpu-check`: per model, diffusers' own pipeline, Neurall's
eager, and Neurall's optimized, in images/s on the same weights."""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.common import PROMPT
from bench.gpu_check_plan import ModelCase, Plan


def _spec(case: ModelCase) -> Any:
    from neurall.gpu.catalog import FAMILY_SCHEDULERS, FAMILY_SIZE_MULTIPLE, ModelFamily, ModelSpec

    family = ModelFamily(case.family)
    return ModelSpec(
        id=case.name, name=case.name, family=family, source="bench",
        native_width=case.size, native_height=case.size, default_steps=case.steps,
        default_guidance=case.guidance, schedulers=FAMILY_SCHEDULERS[family],
        size_multiple=FAMILY_SIZE_MULTIPLE[family], warmup_sizes=((case.size, case.size),),
    )  # fmt: skip


def _requests(case: ModelCase, batch: int, seed: int) -> list[Any]:
    from neurall.gpu.types import GenerationRequest

    return [
        GenerationRequest(
            prompt=PROMPT,
            negative_prompt=None,
            width=case.size,
            height=case.size,
            steps=case.steps,
            guidance_scale=case.guidance,
            seed=seed + i,
            num_images=1,
            model=case.name,
        )
        for i in range(batch)
    ]


def _diffusers_call(pipe: Any, case: ModelCase, batch: int, seed: int) -> None:
    import torch

    pipe(
        prompt=[PROMPT] * batch, num_inference_steps=case.steps, guidance_scale=case.guidance,
        height=case.size, width=case.size, output_type="np",
        generator=[torch.Generator("cpu").manual_seed(seed + i) for i in range(batch)],
    )  # fmt: skip


def _images_per_s(call: Callable[[int, int], Any], batch: int, iterations: int) -> float:
    """Images/s of ``call(batch, seed)``, after one untimed call (allocator, kernels)
    unless only one is asked for (the dry run)."""
    if iterations > 1:
        call(batch, 0)
    began = time.perf_counter()
    for i in range(iterations):
        call(batch, 1 + i)
    return batch * iterations / (time.perf_counter() - began)


def _one_model(plan: Plan, case: ModelCase) -> dict[str, Any]:
    import torch

    from neurall.gpu.optimization import Optimization
    from neurall.gpu.pipeline import Pipeline

    dtype = getattr(torch, case.dtype)
    began = time.perf_counter()
    pipe = case.build(plan.device, dtype)
    pipe.set_progress_bar_config(disable=True)
    built_s = time.perf_counter() - began
    result: dict[str, Any] = {"size": case.size, "steps": case.steps, "dtype": case.dtype,
                              "build_s": built_s}  # fmt: skip
    ways: dict[str, dict[int, float]] = {}
    ways["diffusers"] = {
        b: _images_per_s(partial(_diffusers_call, pipe, case), b, plan.iterations)
        for b in plan.batches
    }
    served = Pipeline(pipe, spec=_spec(case))

    def serve(batch: int, seed: int) -> None:
        served.run(_requests(case, batch, seed))

    ways["neurall_eager"] = {b: _images_per_s(serve, b, plan.iterations) for b in plan.batches}
    options = Optimization(
        batches=plan.compile_batches, backend=plan.compile_backend, cuda_graphs=plan.cuda_graphs
    )
    result["warmup_s"] = served.optimize(options)
    ways["neurall_optimized"] = {b: _images_per_s(serve, b, plan.iterations) for b in plan.batches}
    gate = served.optimized.gate if served.optimized else None
    result["compiled_calls"] = gate.compiled_calls if gate else 0
    result["eager_calls"] = gate.eager_calls if gate else 0
    result["images_per_s"] = {way: {str(b): v for b, v in f.items()} for way, f in ways.items()}
    result["ratio_to_diffusers"] = {
        way: {str(b): f[b] / ways["diffusers"][b] for b in plan.batches}
        for way, f in ways.items()
        if way != "diffusers"
    }
    served.release()
    del pipe
    gc.collect()
    if plan.device == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return result


def pipeline_part(plan: Plan, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Each model in turn; ``save`` is handed the results so far after each."""
    results: dict[str, Any] = {}
    for case in plan.models:
        if plan.out_of_time():
            results[case.name] = {"skipped": "past --deadline-s"}
            continue
        print(f"  pipeline: {case.name}", flush=True)
        results[case.name] = guarded(partial(_one_model, plan, case))
        save(results)
    return results


def guarded(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A failing part is recorded with its error; the parts after it still run."""
    try:
        return body()
    except Exception as exc:
        traceback.print_exc()
        return {"error": repr(exc)}
