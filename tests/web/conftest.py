"""One embedded `neurall serve` for the OpenAI-compatible API's tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import EmbeddedServe, embedded_serve

# Low enough that a test reaches it in a few cheap calls, high enough for every other test
# (each has an account and a key of its own).
REQUESTS_PER_MINUTE_PER_API_KEY = 20


@pytest.fixture(scope="module")
def openai_serve(
    tmp_path_factory: pytest.TempPathFactory, tiny_models: Path
) -> Iterator[EmbeddedServe]:
    """`neurall serve` on its embedded defaults; its ``env`` runs `neurall retention run`,
    its ``data`` directory and log are what the sentinel search reads."""
    with embedded_serve(
        tmp_path_factory.mktemp("openai"),
        tiny_models,
        NEURALL_REQUESTS_PER_MINUTE_PER_API_KEY=str(REQUESTS_PER_MINUTE_PER_API_KEY),
    ) as serve:
        yield serve
