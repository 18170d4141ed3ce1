"""Fixtures for the inference layer: the tiny model, a loaded pipeline, a real Triton server.

The tiny model is built once per session; the Triton server (PyTriton, in a subprocess on free
ports) is started once per session and shares the same model directory, so the server and the
in-process pipeline run identical weights.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from neurall.gpu.pipeline import Pipeline
from neurall.gpu.tiny import build_tiny_pipeline
from neurall.gpu.triton_client import TritonBackend
from tests.gpu.helpers import TritonServer, running_triton_server, started_triton_client
from tests.s3 import new_bucket


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache_dir = tmp_path_factory.mktemp("models")
    build_tiny_pipeline(cache_dir / "tiny-sd")
    return cache_dir


@pytest.fixture(scope="session")
def pipeline(model_cache_dir: Path) -> Pipeline:
    return Pipeline.load("tiny", model_cache_dir, device="cpu")


@pytest.fixture(scope="session")
def triton_server(
    model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Iterator[TritonServer]:
    """`neurall gpu` in a subprocess, as deployed on a host of its own: it reads clone
    adapters from an S3 bucket (``server.bucket``); stopped with SIGTERM at the end."""
    workdir = tmp_path_factory.mktemp("triton")
    with running_triton_server(model_cache_dir, workdir, new_bucket(s3_endpoint)) as server:
        yield server


@pytest.fixture
async def triton(triton_server: TritonServer) -> AsyncIterator[TritonBackend]:
    """A started client of the session's Triton server."""
    async with started_triton_client(triton_server.url, timeout_s=60) as backend:
        yield backend
