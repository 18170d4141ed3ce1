"""Helpers shared by the inference tests."""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from neurall.gpu.triton_client import TritonBackend
from neurall.gpu.types import GenerationRequest, GenerationResult, StepProgress
from tests.s3 import S3Bucket


def make_request(**overrides: object) -> GenerationRequest:
    """A small, fast request; tests override what they look at."""
    fields: dict[str, object] = {
        "prompt": "a red fox in the snow",
        "negative_prompt": None,
        "width": 64,
        "height": 64,
        "steps": 6,
        "guidance_scale": 7.5,
        "seed": 1234,
        "num_images": 1,
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


async def collect(
    stream: AsyncIterator[StepProgress | GenerationResult],
) -> tuple[list[StepProgress], GenerationResult]:
    """Drain a generate() stream, checking its shape: steps first, then exactly one result."""
    steps: list[StepProgress] = []
    results: list[GenerationResult] = []
    async for item in stream:
        assert not results, "nothing may follow the result"
        if isinstance(item, StepProgress):
            steps.append(item)
        else:
            results.append(item)
    assert len(results) == 1
    return steps, results[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
