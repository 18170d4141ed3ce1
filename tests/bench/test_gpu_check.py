"""`python -m bench gpu-check --dry-run`: the prepared GPU run, on the CPU with the tiny
models, so that the script a GPU's few minutes depend on cannot rot. No timing is asserted:
only that every step ran and wrote its figures (JSON and the markdown table, to $OUT)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

# It starts `neurall gpu` (Triton) and `neurall serve` as processes of its own.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_dry_run_takes_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "gpu-check", "--dry-run"],
        cwd=ROOT,
        env={**os.environ, "OUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "gpu-check.json").read_text())
    assert results["meta"]["dry_run"] is True

    pipeline = results["pipeline"]
    assert set(pipeline) == {"tiny-sd", "tiny-sdxl", "tiny-flux", "wall_s"}
    for name in ("tiny-sd", "tiny-sdxl", "tiny-flux"):
        model = pipeline[name]
        for way in ("diffusers", "neurall_eager", "neurall_optimized"):
            assert set(model["images_per_s"][way]) == {"1", "2"}
            assert all(_finite(v) for v in model["images_per_s"][way].values())
        # Calls of 1 image were padded up to the bucket of 2 warmed up: none ran eagerly.
        assert model["compiled_calls"] > 0
        assert model["eager_calls"] == 0

    triton = results["triton"]
    assert _finite(triton["single"]["overhead_ms"] + 1e9)
    saturation = triton["saturation"]
    # Every saturated job went through some pipeline call, on both sides.
    for side in ("pipeline", "in_process_pipeline"):
        assert sum(saturation[side]["batch_sizes"]) == saturation["end_to_end_ms"]["n"]
        assert _finite(saturation[side]["busy_fraction"])

    embedded = results["embedded"]
    assert embedded["single"]["end_to_end_ms"]["n"] == 1
    assert embedded["saturation"] is None

    table = (tmp_path / "gpu-check.md").read_text()
    assert table in done.stdout
    assert table.count("\n| ") >= 2 + 3 * 5 + 3
