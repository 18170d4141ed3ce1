"""Searching files for what must not be there."""

from __future__ import annotations

import os
import subprocess
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


def database_bytes(database_url: str) -> dict[str, bytes]:
    """Every byte the database holds, by where it lies, as a copy or a backup would hold
    it: the SQLite file with its write-ahead log (recent writes stay there until a
    checkpoint) and shared-memory index, or a pg_dump of the PostgreSQL database."""
    if database_url.startswith("sqlite://"):
        path = Path(database_url.removeprefix("sqlite://"))
        paths = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return {str(p): p.read_bytes() for p in paths if p.exists()}
    dump = subprocess.run(
        ["pg_dump", database_url], check=True, capture_output=True, timeout=120
    ).stdout
    return {"pg_dump": dump}
