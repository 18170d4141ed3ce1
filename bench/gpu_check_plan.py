"""What `python -m bench gpu-check` runs: the models, sizes and counts, on a GPU or (dry run) on
the CPU with the tiny models (bench/gpu_check.py describes the parts)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench.common import MODELS


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
