"""Fixtures for the privacy tests: the embedded app generating with the tiny model.

Its storage is the data directory; a test parametrised with ``storage_kind="s3"`` gets a
bucket of its own on the loopback S3 server instead (tests/support/s3.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neurall.config import Settings
from tests.support.runtime import generation_settings


@pytest.fixture
def storage_kind() -> str:
    return "local"


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    tiny_models: Path,
    storage_kind: str,
) -> Settings:
    extra: dict[str, object] = {}
    if storage_kind == "s3":
        extra["storage_url"] = request.getfixturevalue("s3_bucket").url
    return generation_settings(tmp_path / "data", database_url, tiny_models, **extra)
