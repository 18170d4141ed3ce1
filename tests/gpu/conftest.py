"""Fixtures for the inference layer: the tiny model, a loaded pipeline, a real Triton server.

The tiny model is built once per session; the Triton server (PyTriton, in a subprocess on free
ports) is started once per session and shares the same model directory, so the server and the
in-process pipeline run identical weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from neurall.gpu.pipeline import Pipeline
from neurall.gpu.tiny import build_tiny_pipeline
from neurall.gpu.triton_client import TritonBackend
from tests.gpu.helpers import TritonServer, free_port, started_triton_client
from tests.s3 import new_bucket
from tests.stack import stop_process

SERVER_START_TIMEOUT_S = 120.0


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache_dir = tmp_path_factory.mktemp("models")
    build_tiny_pipeline(cache_dir / "tiny-sd")
    return cache_dir


@pytest.fixture(scope="session")
def pipeline(model_cache_dir: Path) -> Pipeline:
    return Pipeline.load("tiny", model_cache_dir, device="cpu")


def _model_ready(http_port: int) -> bool:
    url = f"http://127.0.0.1:{http_port}/v2/models/neurall_txt2img/ready"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def triton_server(
    model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Iterator[TritonServer]:
    """`neurall gpu` in a subprocess, as deployed on a host of its own: it reads clone
    adapters from an S3 bucket (``server.bucket``) into its bounded cache; stopped with
    SIGTERM at the end."""
    workdir = tmp_path_factory.mktemp("triton")
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    server = TritonServer(
        url=f"grpc://127.0.0.1:{grpc_port}",
        http_port=http_port,
        metrics_port=metrics_port,
        stats_path=workdir / "stats.json",
        log_path=workdir / "server.log",
        bucket=new_bucket(s3_endpoint),
    )
    command = [
        sys.executable,
        "-m",
        "neurall.cli",
        "gpu",
        "--cache-dir", str(model_cache_dir),
        "--host", "127.0.0.1",
        "--grpc-port", str(grpc_port),
        "--http-port", str(http_port),
        "--metrics-port", str(metrics_port),
        "--stats-file", str(server.stats_path),
        "--device", "cpu",
        # A wide window makes "8 concurrent requests, one batch" robust on a slow CI box.
        "--max-queue-delay-us", "100000",
    ]  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")},
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(workdir / "data"),
        **server.bucket.env,
    }
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _model_ready(http_port):
            if process.poll() is not None or time.monotonic() > deadline:
                log_tail = server.log_path.read_text(errors="replace")[-4000:]
                pytest.fail(f"Triton server did not become ready:\n{log_tail}", pytrace=False)
            time.sleep(0.25)
        yield server
    finally:
        stop_process(process)


@pytest.fixture
async def triton(triton_server: TritonServer) -> AsyncIterator[TritonBackend]:
    """A started client of the session's Triton server."""
    async with started_triton_client(triton_server.url, timeout_s=60) as backend:
        yield backend
