"""Commands the docs and the code's messages tell people to run exist: every `neurall X`
is a subcommand of the CLI and every `make X` a target of the Makefile."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from neurall.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
# Backticks (one or two) mark a command in Markdown and in docstrings alike.
NEURALL = re.compile(r"`+neurall ([a-z][a-z-]*)")
MAKE = re.compile(r"`+make ([a-z][a-z-]*)")


def _texts() -> dict[str, str]:
    paths = [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "neurall").rglob("*.py")),
    ]
    return {str(p.relative_to(ROOT)): p.read_text() for p in paths}


def test_named_neurall_commands_exist():
    [subcommands] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    unknown = [
        (path, m.group(0))
        for path, text in _texts().items()
        for m in NEURALL.finditer(text)
        if m.group(1) not in subcommands.choices
    ]
    assert unknown == []


def test_named_make_targets_exist():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    unknown = [
        (path, m.group(0))
        for path, text in _texts().items()
        for m in MAKE.finditer(text)
        if m.group(1) not in targets
    ]
    assert unknown == []
