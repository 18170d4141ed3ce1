"""Searching files for what must not be there."""

from __future__ import annotations

import os
from pathlib import Path


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def grep_files(root: Path, needles: list[bytes]) -> list[str]:
    """Files under ``root`` containing any needle (binary search, whole files)."""
    hits = []
    for path in files_under(root):
        data = path.read_bytes()
        hits += [f"{path}: {n[:20]!r}" for n in needles if n in data]
    return hits


def files_containing(roots: list[Path], needles: list[bytes]) -> list[str]:
    """Files under ``roots`` (symlinks not followed) holding any of ``needles``."""
    found = []
    for root in roots:
        for directory, _dirs, names in os.walk(root, followlinks=False):
            for name in names:
                path = Path(directory) / name
                if path.is_symlink() or not path.is_file() or path.stat().st_size > 64 << 20:
                    continue
                content = path.read_bytes()
                if any(needle in content for needle in needles):
                    found.append(str(path))
    return found
