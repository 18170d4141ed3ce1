"""Batching: images/s for 16 concurrent compatible requests on Triton with dynamic batching
(max batch size 8) against batching off (max batch size 1: one request per pipeline call).

Both servers are `neurall gpu` processes serving the same model (the tiny one, unless
`bench/gpu.py` asks for another); they run one after the other, so they never compete.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import (
    MODELS,
    ROOT,
    ensure_tiny_model,
    free_port,
    generate_once,
    server_popen_options,
    summary,
    wait_http,
)

CONCURRENT = 16


def _start(max_batch_size: int, log: Any, model: str, device: str) -> tuple[subprocess.Popen, str]:
    grpc, http, metrics = free_port(), free_port(), free_port()
    cache_dir = ensure_tiny_model() if model == "tiny" else MODELS
    process = subprocess.Popen(
        [sys.executable, "-m", "neurall.gpu.triton_server", "--model", model,
         "--cache-dir", str(cache_dir), "--host", "127.0.0.1", "--grpc-port", str(grpc),
         "--http-port", str(http), "--metrics-port", str(metrics), "--device", device,
         "--max-batch-size", str(max_batch_size)],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        **server_popen_options(),
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{http}/v2/models/neurall_models/ready", process, 600)
    return process, f"grpc://127.0.0.1:{grpc}"


async def _measure(url: str, rounds: int, steps: int, size: int) -> list[float]:
    from neurall.gpu.triton_client import TritonBackend

    backend = TritonBackend(url, timeout_s=600)
    await backend.start()
    try:
        # Warm-up.
        await asyncio.gather(*(generate_once(backend, steps, size, i) for i in range(4)))
        rates = []
        for r in range(rounds):
            began = time.perf_counter()
            seeds = range(100 + r * CONCURRENT, 100 + (r + 1) * CONCURRENT)
            await asyncio.gather(*(generate_once(backend, steps, size, s) for s in seeds))
            rates.append(CONCURRENT / (time.perf_counter() - began))
        return rates
    finally:
        await backend.close()


def run(quick: bool = False) -> dict[str, Any]:
    rounds, steps, size = (1, 2, 64) if quick else (3, 20, 64)
    return compare(rounds, steps, size)


def compare(
    rounds: int, steps: int, size: int, *, model: str = "tiny", device: str = "cpu"
) -> dict[str, Any]:
    """Images/s of ``CONCURRENT`` requests, max batch size 8 against 1."""
    results: dict[str, list[float]] = {}
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    with (ROOT / "bench" / "results" / "triton.log").open("ab") as log:
        for name, max_batch in (("batched", 8), ("unbatched", 1)):
            process, url = _start(max_batch, log, model, device)
            try:
                results[name] = asyncio.run(_measure(url, rounds, steps, size))
            finally:
                process.terminate()
                process.wait(timeout=60)
    on, off = summary(results["batched"]), summary(results["unbatched"])
    return {
        "params": {"concurrent": CONCURRENT, "rounds": rounds, "steps": steps, "size": size},
        "batched_images_per_s": on,
        "unbatched_images_per_s": off,
        "speedup": on["median"] / off["median"],
        "goal": ">= 2x with batching",
    }
