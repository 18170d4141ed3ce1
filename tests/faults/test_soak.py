"""A short soak in every full run: `scripts/soak.py` for about two minutes, with a worker
SIGKILLed, the broker's app stopped and the database stopped while jobs run. It must
settle: no job stuck, no credit held, nothing charged twice, every balance equal to its
ledger (the script exits 1 otherwise). docs/operations.md has the heavy soak's figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("postgres_server", "rabbitmq_server")]

ROOT = Path(__file__).resolve().parents[2]
SHORT = [
    "--jobs", "30", "--clients", "3", "--duration", "60", "--kill-every", "25",
    "--broker-every", "30", "--database-every", "45", "--settle", "150",
]  # fmt: skip


def test_a_short_soak_settles():
    done = subprocess.run(
        [sys.executable, "scripts/soak.py", *SHORT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    output = done.stdout + done.stderr[-4000:]
    assert done.returncode == 0, output
    for figure in (
        "jobs stuck (queued or running) | 0 |",
        "credits held at the end | 0 |",
        "double charges | 0 |",
        "ledger mismatches (accounts) | 0 |",
        "invariant violations | 0 |",
    ):
        assert figure in done.stdout, output
    assert "worker SIGKILL" in done.stdout
    assert "broker stop_app" in done.stdout
    assert "database stop" in done.stdout
