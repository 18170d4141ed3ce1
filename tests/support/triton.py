"""`neurall gpu` (Triton via PyTriton) as a server of the tests' own, and a client of it."""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from neurall.gpu.triton_client import TritonBackend
from tests.support.ports import free_port
from tests.support.processes import MODEL_READY, clean_env, gpu_arguments, running
from tests.support.s3 import S3Bucket


@dataclass(frozen=True)
class TritonServer:
    url: str
    http_port: int
    metrics_port: int
    stats_path: Path
    log_path: Path
    # Its deployment's storage, where it fetches clone adapters from (by key).
    bucket: S3Bucket

    def store_adapter(self, path: Path) -> str:
        """Put the adapter file at ``path`` in the server's bucket; returns its key."""
        key = f"adapters/{uuid.uuid4()}.safetensors"
        self.bucket.client().upload_file(str(path), self.bucket.name, self.bucket.object_key(key))
        return key

    def stats(self) -> dict[str, object]:
        if not self.stats_path.exists():
            return {
                "pipeline_calls": 0,
                "requests": 0,
                "batch_sizes": [],
                "batch_models": [],
                "canceled_calls": 0,
                "busy_s": 0.0,
            }
        return json.loads(self.stats_path.read_text(encoding="utf-8"))

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")


@contextlib.asynccontextmanager
async def started_triton_client(url: str, timeout_s: float) -> AsyncIterator[TritonBackend]:
    """A started TritonBackend for ``url``, closed on exit."""
    backend = TritonBackend(url, timeout_s=timeout_s)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


@contextlib.contextmanager
def running_triton_server(
    model_cache_dir: Path, workdir: Path, bucket: S3Bucket, extra_args: tuple[str, ...] = ()
) -> Iterator[TritonServer]:
    """`neurall gpu` in a subprocess on free ports, as deployed on a host of its own: it
    reads clone adapters from ``bucket`` into its bounded cache (``extra_args``: more of its
    options); stopped with SIGTERM on exit."""
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    server = TritonServer(
        url=f"grpc://127.0.0.1:{grpc_port}",
        http_port=http_port,
        metrics_port=metrics_port,
        stats_path=workdir / "stats.json",
        log_path=workdir / "server.log",
        bucket=bucket,
    )
    args = gpu_arguments(
        grpc_port, http_port, metrics_port,
        "--cache-dir", str(model_cache_dir), "--stats-file", str(server.stats_path),
        # A wide window makes "8 concurrent requests, one batch" robust on a slow CI box.
        "--max-queue-delay-us", "100000",
        *extra_args,
    )  # fmt: skip
    env = clean_env(NEURALL_DATA_DIR=str(workdir / "data"), **bucket.env)
    with running(
        args, env=env, log=server.log_path, ready_url=f"http://127.0.0.1:{http_port}{MODEL_READY}"
    ):
        yield server
