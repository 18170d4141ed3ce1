"""One embedded `neurall serve` for the OpenAI-compatible API's tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import free_port
from tests.support.processes import clean_env, running

# Low enough that a test reaches it in a few cheap calls, high enough for every other test
# (each has an account and a key of its own).
REQUESTS_PER_MINUTE_PER_API_KEY = 20


@pytest.fixture(scope="module")
def openai_serve(tmp_path_factory: pytest.TempPathFactory, tiny_models: Path) -> Iterator[Any]:
    """`neurall serve` on its embedded defaults (SQLite, in-process queue and pipeline):
    ``base`` (its URL), ``env`` (for `neurall retention run`), ``root`` (its data directory
    and log, for the sentinel search)."""
    root = tmp_path_factory.mktemp("openai")
    data = root / "data"
    data.mkdir()
    (data / "models").symlink_to(tiny_models, target_is_directory=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(
        NEURALL_DATA_DIR=str(data),
        NEURALL_PUBLIC_URL=base,
        NEURALL_REQUESTS_PER_MINUTE_PER_API_KEY=str(REQUESTS_PER_MINUTE_PER_API_KEY),
    )
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(args, env=env, log=root / "serve.log", ready_url=f"{base}/healthz"):
        yield {"base": base, "env": env, "root": root, "data": data}
