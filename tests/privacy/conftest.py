"""Fixtures for the privacy tests: the embedded app generating with the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurall.config import Settings
from tests.generation.conftest import generation_settings, tiny_models

__all__ = ["tiny_models"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(tmp_path / "data", database_url, tiny_models)
