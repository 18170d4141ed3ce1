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
import json
import math
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench import gpu_check_table, overhead
from bench.common import MODELS, Stack, on_stack
from bench.gpu_check_pipeline import guarded, pipeline_part
from bench.gpu_check_plan import Plan, plan

PARTS = ("pipeline", "triton", "embedded")


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
    measure = partial(
        overhead.report, stack, plan.stack_steps, plan.stack_size, plan.singles, rounds,
        plan.stack_batch, plan.per_client,
    )  # fmt: skip
    return on_stack(stack, measure)


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
        results[name] = guarded(bodies[name])
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
