"""Overhead on a GPU: the service around a pipeline as heavy as a real one.

On CUDA: an SD 1.5-shaped model with random weights (``bench/full_size_model.py``), 512x512,
20 steps, fp16. Without a GPU the same code runs with the tiny model on the CPU, so the smoke
test keeps it working; its figures then say nothing new, and the batching part, which would
repeat the ``batching`` bench exactly, is left out.

The GPU machine has neither RabbitMQ nor PostgreSQL, so both stacks here are `neurall serve`
on SQLite with its in-process queue (RabbitMQ's own legs are the ``queue`` bench):

- ``embedded``: the pipeline inside `neurall serve`;
- ``triton``: `neurall gpu` (Triton via PyTriton) and `neurall serve` calling it over gRPC.

Each is measured as in the ``overhead`` bench: GraphQL `generate` -> SUCCEEDED on a jobEvents
websocket, against the same requests through the same pipeline in this process, interleaved.
Then Triton's dynamic batching at this size (the ``batching`` bench). A part that fails is
recorded with its error and the processes' log, and the others still run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import batching, overhead
from bench.common import MODELS, Stack, on_stack

BATCH = 8


def _part(results: dict[str, Any], name: str, body: Callable[[], dict[str, Any]]) -> None:
    try:
        results[name] = body()
    except Exception as exc:  # recorded; the smoke test fails on it
        traceback.print_exc()
        results[name] = {"error": repr(exc)}


def run(quick: bool = False) -> dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        from bench.full_size_model import build_full_size_pipeline

        model, device = str(build_full_size_pipeline(MODELS / "full-size-sd")), "cuda"
        hardware, steps, size = torch.cuda.get_device_name(), 20, 512
    else:
        model, device, hardware = "tiny", "cpu", "cpu (no GPU: tiny model)"
        steps, size = (2, 64) if quick else (20, 64)
    singles, rounds, per_client = (2, 1, 1) if quick else (10, 2, 2)
    results: dict[str, Any] = {
        "params": {"device": hardware, "model": model, "steps": steps, "size": size},
    }
    for name, triton in (("embedded", False), ("triton", True)):
        stack = Stack(
            distributed=False, triton=triton, model=model, device=device,
            worker_threads=2 * BATCH, max_batch_size=BATCH,
        )  # fmt: skip
        measure = partial(overhead.report, stack, steps, size, singles, rounds, BATCH, per_client)
        _part(results, name, partial(on_stack, stack, measure))
    if device == "cuda":
        batched = partial(batching.compare, rounds, steps, size, model=model, device=device)
        _part(results, "batching", batched)
    return results
