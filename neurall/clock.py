"""The project's one clock: timezone-aware UTC, so every stored and compared time agrees."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
