"""`python -m bench.webhooks --quick` measures both figures (no timing is asserted: on a
shared machine only the benchmark's repeated, alternating rounds say anything)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_measures_both_figures(tmp_path: Path) -> None:
    out = tmp_path / "webhooks.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.webhooks", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    for side in ("webhooks_off_ms", "webhooks_on_ms"):
        assert results[side]["n"] == 2
        assert math.isfinite(results[side]["median"])
    assert "median ratio" in done.stdout
