"""`python -m bench gpu-check [--dry-run]`: every GPU figure in one prepared run.

A GPU is lent for minutes now and then (docs/performance.md, "Taking the GPU figures"), so
this runs every measurement in order, writes the results after each part (a run cut short
keeps what it measured) and prints a markdown table:

1. ``pipeline``: SD 1.5-, SDXL- and FLUX-shaped models with random weights at real sizes
   (bench/real_size_models.py; SD 1.5 at 512², SDXL and FLUX at 1024², fp16, FLUX bf16),
   at 1 and 4 images per call, three ways: diffusers' pipeline as it comes (eager, its
   defaults), Neurall's ``Pipeline`` as served today (eager, with the batch-invariance
   patches and PNG encoding), and the same ``Pipeline`` optimized
   (neurall.gpu.optimize: channels_last, fused QKV, torch.compile at the served size and
   batch buckets, optionally CUDA graphs), with its warm-up time. Images/s, and the ratio to
   diffusers' defaults (goal: >= 1.5x at batch 1 for SD 1.5 and SDXL).
2. ``triton``: `neurall gpu` (Triton via PyTriton) + `neurall serve` on SQLite, GraphQL
   `generate` to the SUCCEEDED event, against the same pipeline in this process, 1 job in
   flight and at saturation (bench/overhead.py): overhead (goal < 5%), throughput ratio
   (goal >= 0.95), each side's busy fraction (goal >= 95%) and batch sizes. SD 1.5-shaped,
   512², saved once to neurall-data/models/full-size-sd (bench/full_size_model.py).
3. ``embedded``: the same with the pipeline inside `neurall serve`, 1 job in flight.

``--dry-run`` runs the same steps on the CPU with the built-in tiny models at 64², a
couple of steps and one repetition, and compiles nothing (the optimized pipeline's buckets
and warm-up still run): it proves the script, not the figures. ``make test`` runs it
(tests/bench/test_gpu_check.py).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench import gpu_check_table, overhead
from bench.common import MODELS, PROMPT, Stack

PARTS = ("pipeline", "triton", "embedded")


@dataclass(frozen=True)
class ModelCase:
    """One model of the pipeline part: how to build it, at what size and steps."""

    name: str
    family: str
    size: int
    steps: int
    guidance: float
    build: Callable[[str, Any], Any]
    dtype: str = "float16"


@dataclass(frozen=True)
class Plan:
    device: str
    models: list[ModelCase]
    batches: tuple[int, ...]
    # Images per call compiled at warm-up: a measured batch between two is padded up.
    compile_batches: tuple[int, ...]
    iterations: int
    compile_backend: str
    cuda_graphs: bool
    # The stacks: model ("tiny" or a path), steps, size, and the overhead bench's counts.
    stack_steps: int
    stack_size: int
    singles: int
    rounds: int
    per_client: int
    stack_batch: int
    notes: list[str] = field(default_factory=list)
    # time.monotonic() after which no part or model starts (the GPU run's time limit).
    deadline: float = math.inf

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline


def _tiny(source: str) -> Callable[[str, Any], Any]:
    def build(device: str, dtype: Any) -> Any:
        from neurall.gpu.catalog import BUILTIN_SOURCES
        from neurall.gpu.families import text_to_image_class
        from neurall.gpu.tiny import build_builtin

        path = build_builtin(source, MODELS)
        family = BUILTIN_SOURCES[source]
        return text_to_image_class(family).from_pretrained(str(path)).to(device, dtype)

    return build


def plan(dry_run: bool, *, cuda_graphs: bool, flux_blocks: tuple[int, int]) -> Plan:
    if dry_run:
        tiny = [
            ModelCase("tiny-sd", "SD1", 64, 2, 7.5, _tiny("builtin:tiny-sd"), "float32"),
            ModelCase("tiny-sdxl", "SDXL", 64, 2, 7.5, _tiny("builtin:tiny-sdxl"), "float32"),
            ModelCase("tiny-flux", "FLUX", 64, 2, 3.5, _tiny("builtin:tiny-flux"), "float32"),
        ]
        return Plan(
            device="cpu", models=tiny, batches=(1, 2), compile_batches=(2,), iterations=1,
            compile_backend="none",
            cuda_graphs=False, stack_steps=2, stack_size=64, singles=1, rounds=1,
            per_client=1, stack_batch=2,
            notes=["dry run: CPU, tiny models, nothing compiled; the figures mean nothing"],
        )  # fmt: skip
    from bench import real_size_models as real

    models = [
        ModelCase("sd15-shaped", "SD1", 512, 20, 7.5, real.sd15),
        ModelCase("sdxl-shaped", "SDXL", 1024, 12, 7.5, real.sdxl),
        ModelCase(
            f"flux-shaped-{flux_blocks[0]}+{flux_blocks[1]}-blocks", "FLUX", 1024, 4, 3.5,
            partial(real.flux, blocks=flux_blocks), "bfloat16",
        ),
    ]  # fmt: skip
    return Plan(
        device="cuda", models=models, batches=(1, 4), compile_batches=(1, 4), iterations=2,
        compile_backend="inductor", cuda_graphs=cuda_graphs, stack_steps=20, stack_size=512,
        singles=8, rounds=2, per_client=4, stack_batch=8,
        notes=[
            f"FLUX-shaped: {flux_blocks[0]} of 19 double and {flux_blocks[1]} of 38 single "
            "blocks at FLUX.1's width; T5 2 of 24 layers",
        ],
    )  # fmt: skip


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
        results[case.name] = _guarded(partial(_one_model, plan, case))
        save(results)
    return results


def _stack_model(plan: Plan) -> str:
    if plan.device == "cpu":
        return "tiny"
    from bench.full_size_model import build_full_size_pipeline

    return str(build_full_size_pipeline(MODELS / "full-size-sd"))


def stack_part(plan: Plan, *, triton: bool) -> dict[str, Any]:
    """`neurall serve` (with `neurall gpu` when ``triton``) against the pipeline in this
    process (bench/overhead.py); the embedded stack only at 1 in flight (its saturation is
    the `gpu` bench's)."""
    stack = Stack(
        distributed=False, triton=triton, model=_stack_model(plan), device=plan.device,
        worker_threads=2 * plan.stack_batch, max_batch_size=plan.stack_batch,
    )  # fmt: skip
    rounds = plan.rounds if triton else 0
    try:
        stack.up()
        return overhead.report(
            stack, plan.stack_steps, plan.stack_size, plan.singles, rounds,
            plan.stack_batch, plan.per_client,
        )  # fmt: skip
    except Exception:
        log = (stack.workdir / "processes.log").read_text(errors="replace")
        print(f"--- processes' log (end) ---\n{log[-6000:]}")
        raise
    finally:
        stack.down()


def _guarded(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A failing part is recorded with its error; the parts after it still run."""
    try:
        return body()
    except Exception as exc:
        traceback.print_exc()
        return {"error": repr(exc)}


def _environment(plan: Plan) -> dict[str, Any]:
    import numpy
    import torch

    info: dict[str, Any] = {
        "device": plan.device,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cpus": os.cpu_count(),
    }
    try:
        import diffusers

        info["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    if plan.device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
    return info


def run(
    *,
    dry_run: bool,
    out_dir: Path,
    parts: tuple[str, ...] = PARTS,
    cuda_graphs: bool = False,
    flux_blocks: tuple[int, int] = (5, 10),
    deadline_s: float = math.inf,
) -> dict[str, Any]:
    """Run ``parts`` in the order given; the JSON and the table are rewritten after each
    part (and each model), so a run cut short keeps what it measured; nothing starts after
    ``deadline_s`` seconds."""
    started = time.monotonic()
    import torch

    if not dry_run and not torch.cuda.is_available():
        raise SystemExit("gpu-check needs CUDA; --dry-run runs the same steps on the CPU")
    chosen = dataclasses.replace(
        plan(dry_run, cuda_graphs=cuda_graphs, flux_blocks=flux_blocks),
        deadline=started + deadline_s,
    )
    results: dict[str, Any] = {
        "meta": {**_environment(chosen), "dry_run": dry_run, "notes": chosen.notes,
                 "batches": list(chosen.batches), "iterations": chosen.iterations,
                 "compile_batches": list(chosen.compile_batches),
                 "compile": chosen.compile_backend, "cuda_graphs": chosen.cuda_graphs},
    }  # fmt: skip

    def save_pipeline(so_far: dict[str, Any]) -> None:
        results["pipeline"] = so_far
        write(results, out_dir)

    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "pipeline": partial(pipeline_part, chosen, save_pipeline),
        "triton": partial(stack_part, chosen, triton=True),
        "embedded": partial(stack_part, chosen, triton=False),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in parts:
        if chosen.out_of_time():
            results[name] = {"skipped": "past --deadline-s"}
            continue
        began = time.monotonic()
        print(f"gpu-check: {name}...", flush=True)
        results[name] = _guarded(bodies[name])
        results[name]["wall_s"] = round(time.monotonic() - began, 1)
        write(results, out_dir)
    return results


def write(results: dict[str, Any], out_dir: Path) -> str:
    table = "\n".join(gpu_check_table.table(results)) + "\n"
    (out_dir / "gpu-check.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (out_dir / "gpu-check.md").write_text(table, encoding="utf-8")
    return table


def main(argv: list[str]) -> int:
    import argparse
    import logging

    from bench.common import ROOT

    parser = argparse.ArgumentParser(
        prog="python -m bench gpu-check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dry-run", action="store_true", help="the same steps on the CPU")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(os.environ["OUT"]) if os.environ.get("OUT") else ROOT / "bench" / "results",
        help="where gpu-check.json and gpu-check.md go (default: $OUT, else bench/results)",
    )
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which, in this order"
    )
    parser.add_argument(
        "--deadline-s",
        type=float,
        default=math.inf,
        help="start no part or model after this many seconds (the results so far are kept)",
    )
    parser.add_argument("--cuda-graphs", action="store_true", help="compile reduce-overhead")
    parser.add_argument(
        "--flux-blocks",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=(5, 10),
        metavar="DOUBLE,SINGLE",
        help="the FLUX-shaped transformer's blocks (FLUX.1: 19,38; default 5,10)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("neurall.gpu").setLevel(logging.INFO)
    results = run(
        dry_run=args.dry_run,
        out_dir=args.out_dir,
        parts=tuple(dict.fromkeys(args.parts)),
        cuda_graphs=args.cuda_graphs,
        flux_blocks=args.flux_blocks,
        deadline_s=args.deadline_s,
    )
    print(write(results, args.out_dir), end="")
    print(f"results written to {args.out_dir / 'gpu-check.json'} and gpu-check.md")
    failed = [name for name in PARTS if "error" in results.get(name, {})]
    failed += [
        f"pipeline {model}"
        for model, m in results.get("pipeline", {}).items()
        if isinstance(m, dict) and "error" in m
    ]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0
