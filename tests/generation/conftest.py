"""Fixtures for generation: settings that use the tiny model, with fast retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurall.config import Settings
from tests.support.runtime import generation_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(tmp_path / "data", database_url, tiny_models)
