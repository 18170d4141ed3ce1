"""The optimized pipeline's settings, plain data (no torch): see neurall.gpu.optimize.

Read where settings are (the embedded backend's runtime, `neurall gpu`'s command line) and
handed to each model's load as one ``Optimization`` or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neurall.gpu.catalog import ModelSpec

OFF, ON, AUTO = "off", "on", "auto"
SETTINGS = (OFF, ON, AUTO)
DEFAULT_BATCHES = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class Optimization:
    """How a pipeline is optimized at load (see neurall.gpu.optimize)."""

    channels_last: bool = True
    fuse_qkv: bool = True
    compile: bool = True
    cuda_graphs: bool = False
    # torch.compile's backend: "inductor" for speed; "eager" only traces (tests); "none"
    # compiles nothing but still pads calls to the warmed-up buckets (dry runs).
    backend: str = "inductor"
    # Images per call compiled at warm-up; a call is padded up to the next one.
    batches: tuple[int, ...] = DEFAULT_BATCHES
    warmup_steps: int = 2

    def __post_init__(self) -> None:
        if not self.batches or min(self.batches) < 1:
            raise ValueError("compile batches must be positive")
        object.__setattr__(self, "batches", tuple(sorted(set(self.batches))))


def enabled(setting: str, device: str, entry: bool | None = None) -> bool:
    """Whether a model on ``device`` is optimized: the entry's own choice, else the
    deployment's ``setting`` (off, on, auto: on for CUDA only)."""
    if setting not in SETTINGS:
        raise ValueError(f"pipeline compile setting must be one of {SETTINGS}, not {setting!r}")
    if entry is not None:
        return entry
    return setting == ON or (setting == AUTO and device.startswith("cuda"))


# Each catalog entry's Optimization, or None for the plain pipeline.
Chooser = Callable[[ModelSpec], Optimization | None]


def chooser(
    setting: str,
    device: str | None,
    *,
    batches: tuple[int, ...] = DEFAULT_BATCHES,
    cuda_graphs: bool = False,
    backend: str = "inductor",
) -> Chooser:
    """Each entry's Optimization under the deployment's ``setting`` (see ``enabled``) on
    ``device`` (None: CUDA where there is one)."""
    enabled(setting, "cpu")  # a bad setting fails at start, not at the first load
    options = Optimization(batches=batches, cuda_graphs=cuda_graphs, backend=backend)

    def choose(spec: ModelSpec) -> Optimization | None:
        # Asked at a model's load, on the thread that loads it: torch is imported by then.
        import torch

        where = device or ("cuda" if torch.cuda.is_available() else "cpu")
        return options if enabled(setting, where, spec.optimize) else None

    return choose


def parse_batches(text: str) -> tuple[int, ...]:
    """ "1,2,4,8" as (1, 2, 4, 8)."""
    return tuple(int(part) for part in text.split(",") if part.strip())
