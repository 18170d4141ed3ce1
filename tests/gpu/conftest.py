"""Fixtures for the inference layer: a client of the session's Triton server.

The tiny model (``model_cache_dir``), the loaded ``pipeline`` and the Triton server
(PyTriton, in a subprocess on free ports) are tests/support/fixtures.py's, each made once per
session on the same model directory, so the server and the in-process pipeline run identical
weights.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from neurall.gpu.triton_client import TritonBackend
from tests.support.triton import TritonServer, started_triton_client


@pytest.fixture
async def triton(triton_server: TritonServer) -> AsyncIterator[TritonBackend]:
    """A started client of the session's Triton server."""
    async with started_triton_client(triton_server.url, timeout_s=60) as backend:
        yield backend
