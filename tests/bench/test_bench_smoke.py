"""`python -m bench all --quick` runs every benchmark's code path against the real services
(PostgreSQL, RabbitMQ, Triton via PyTriton, websockets) and writes their JSON, so the
benchmarks cannot rot unnoticed. No timing is asserted: only that each figure was measured.

`bench gpu` is not run here: its parts are (the embedded and the Triton stack through
``overhead.report``, in gpu-check's dry run, tests/bench/test_gpu_check.py; dynamic batching,
in ``all``), and on the CPU it would only measure them again.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The benchmarks start the stacks they measure (bench/common.py) on the shared servers.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("postgres_server", "rabbitmq_server", "gpu_server"),
]

ROOT = Path(__file__).resolve().parents[2]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _assert_pipeline_use_recorded(saturation: dict[str, Any]) -> None:
    """Both sides' pipeline counters were read: every saturated job is in some call."""
    jobs = saturation["end_to_end_ms"]["n"]
    for side in ("pipeline", "in_process_pipeline"):
        assert sum(saturation[side]["batch_sizes"]) == jobs, saturation[side]
        assert _finite(saturation[side]["busy_fraction"])
        assert saturation[side]["call_ms"] > 0


def _quick_run(which: str, tmp_path: Path, timeout_s: int) -> tuple[str, dict[str, Any]]:
    """`python -m bench WHICH --quick`: its printed table and its JSON results."""
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", which, "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_quick_run_measures_every_figure(tmp_path: Path) -> None:
    stdout, results = _quick_run("all", tmp_path, 900)
    assert results["meta"]["quick"] is True

    overhead = results["overhead"]
    for case in ("single", "saturation"):
        assert overhead[case]["end_to_end_ms"]["n"] >= 1
        assert _finite(overhead[case]["overhead_ratio"])
    assert _finite(overhead["saturation"]["jobs_per_s"])
    _assert_pipeline_use_recorded(overhead["saturation"])

    batching = results["batching"]
    assert batching["params"]["concurrent"] == 16
    assert _finite(batching["speedup"])

    api = results["api"]
    for name in ("me", "job", "me_vs_readonly", "job_vs_readonly"):
        assert _finite(api["ratio"][name])

    processes = results["api_processes"]
    assert processes["processes"] == 2
    assert _finite(processes["ratio"])

    queue = results["queue"]
    assert queue["enqueue_to_start_ms"]["n"] == 3
    assert queue["publish_to_receive_ms"]["n"] == 20

    fanout = results["fanout"]
    assert fanout["subscriptions"] == 50
    # Every subscription received every published event.
    assert fanout["delivery_ms"]["n"] == 50 * 3
    assert fanout["bare_broadcast_delivery_ms"]["n"] == 50 * 3
    assert _finite(fanout["kb_per_subscription"])

    models = results["models"]
    assert models["params"]["models"] == ["tiny-sd", "tiny-sdxl", "tiny-flux"]
    assert _finite(models["spread"]["ratio"])
    assert models["cold"]["state_before"] == "COLD"
    assert _finite(models["cold"]["load_cost_s"])

    fairness = results["fairness"]
    assert fairness["params"]["accounts"] == 20
    for order in ("fair", "fifo"):
        assert _finite(fairness[order]["newcomer_wait_runs"])
    assert _finite(fairness["throughput_ratio"])

    # The table printed for the README has a row per figure.
    assert stdout.count("\n| ") >= 10
