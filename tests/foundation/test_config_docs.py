"""docs/configuration.md is generated from the settings' descriptions and kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neurall.config import Settings
from neurall.config_docs import DOCS_PATH, env_name, missing_descriptions, render

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_has_a_description() -> None:
    assert missing_descriptions() == [], "describe these with Field(description=...)"


def test_configuration_docs_are_current() -> None:
    written = (ROOT / DOCS_PATH).read_text(encoding="utf-8")
    assert written == render(), "docs/configuration.md is stale: run `make docs`"


def test_every_setting_appears_once() -> None:
    text = render()
    for name in Settings.model_fields:
        assert text.count(f"| `{env_name(name)}` |") == 1, name


def test_the_cli_prints_and_checks(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "neurall.cli", "config-docs"]
    env = {"PYTHONPATH": str(ROOT)}
    printed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == render()
    assert subprocess.run([*command, "--check"], cwd=ROOT, env=env, check=False).returncode == 0
    # Elsewhere there is no docs/configuration.md to match, and nothing is created.
    stale = subprocess.run(
        [*command, "--check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert stale.returncode != 0
    assert "stale" in stale.stderr
    assert list(tmp_path.iterdir()) == []
