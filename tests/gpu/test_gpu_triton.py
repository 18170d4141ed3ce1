"""The real Triton server (PyTriton, `neurall gpu`) through TritonBackend.

The server runs in a subprocess with the same tiny model directory as the in-process
``pipeline`` fixture, so its images must be byte-identical to a local run.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from neurall.gpu.backend import InferenceBackend, make_backend
from neurall.gpu.catalog import builtin_catalog
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.triton_client import TritonBackend
from neurall.gpu.types import InferenceError, InferenceUnavailable, StepProgress
from tests.support.gpu import collect, make_request
from tests.support.ports import free_port
from tests.support.triton import TritonServer, started_triton_client

pytestmark = pytest.mark.slow


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


@pytest.mark.asyncio
async def test_ready(triton: TritonBackend) -> None:
    assert isinstance(triton, InferenceBackend)
    assert await triton.ready()


@pytest.mark.asyncio
async def test_stream_matches_the_embedded_pipeline(
    triton: TritonBackend, pipeline: Pipeline
) -> None:
    request = make_request(
        prompt="a lighthouse, stormy sea",
        negative_prompt="blurry",
        width=128,
        height=64,
        steps=8,
        guidance_scale=6.3,  # not exact in float32: it must travel as float64
        seed=98765,
        num_images=2,
        preview_every=4,
    )
    steps, result = await collect(triton.generate(request))
    assert [(s.step, s.total_steps) for s in steps] == [(i, 8) for i in range(1, 9)]
    assert [s.preview_png is not None for s in steps] == [i % 4 == 0 for i in range(1, 9)]
    assert [_size(png) for png in result.images] == [(128, 64), (128, 64)]
    assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_concurrent_compatible_requests_share_pipeline_calls(
    triton: TritonBackend, triton_server: TritonServer, pipeline: Pipeline
) -> None:
    requests = [make_request(prompt=f"a bird, number {i}", seed=i) for i in range(8)]
    before = triton_server.stats()
    outputs = await asyncio.gather(*(collect(triton.generate(r)) for r in requests))
    after = triton_server.stats()
    calls = int(after["pipeline_calls"]) - int(before["pipeline_calls"])
    assert int(after["requests"]) - int(before["requests"]) == 8
    assert 1 <= calls < 8, after
    for request, (steps, result) in zip(requests, outputs, strict=True):
        assert [s.step for s in steps] == list(range(1, 7))
        assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_incompatible_requests_are_not_batched_together(
    triton: TritonBackend, triton_server: TritonServer, pipeline: Pipeline
) -> None:
    shapes = [(64, 64, 6), (128, 64, 6), (64, 128, 6), (64, 64, 4)] * 2
    requests = [
        make_request(width=w, height=h, steps=s, seed=10 + i) for i, (w, h, s) in enumerate(shapes)
    ]
    before = triton_server.stats()
    outputs = await asyncio.gather(*(collect(triton.generate(r)) for r in requests))
    after = triton_server.stats()
    # Four kinds of request need at least four calls.
    assert int(after["pipeline_calls"]) - int(before["pipeline_calls"]) >= 4
    for request, (steps, result) in zip(requests, outputs, strict=True):
        assert [s.step for s in steps] == list(range(1, request.steps + 1))
        assert all(s.total_steps == request.steps for s in steps)
        assert [_size(png) for png in result.images] == [(request.width, request.height)]
        assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_early_close_leaves_the_server_healthy(triton: TritonBackend) -> None:
    stream = triton.generate(make_request(steps=30))
    async for item in stream:
        assert isinstance(item, StepProgress)
        if item.step == 2:
            break
    await stream.aclose()
    steps, result = await collect(triton.generate(make_request(steps=3)))
    assert [s.step for s in steps] == [1, 2, 3]
    assert len(result.images) == 1


@pytest.mark.asyncio
async def test_server_side_errors_are_permanent(triton: TritonBackend) -> None:
    request = make_request(lora="adapters/nonexistent.safetensors")
    with pytest.raises(InferenceError) as caught:
        await collect(triton.generate(request))
    assert not isinstance(caught.value, InferenceUnavailable)
    assert "adapter not found" in str(caught.value)


@pytest.mark.asyncio
async def test_nothing_listening_is_unavailable_quickly() -> None:
    backend = make_backend(f"grpc://127.0.0.1:{free_port()}", timeout_s=30)
    await backend.start()
    try:
        assert not await backend.ready()
        started = time.monotonic()
        with pytest.raises(InferenceUnavailable):
            await collect(backend.generate(make_request()))
        assert time.monotonic() - started < 5
    finally:
        await backend.close()


@pytest.mark.asyncio
async def test_deadline_is_unavailable(triton_server: TritonServer) -> None:
    backend = TritonBackend(triton_server.url, timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(InferenceUnavailable, match="DEADLINE_EXCEEDED"):
            await collect(backend.generate(make_request(steps=60)))
        assert time.monotonic() - started < 3
    finally:
        await backend.close()


def test_triton_metrics_count_executions(triton_server: TritonServer) -> None:
    # Triton's exec count is the batches it handed to PyTriton; the pipeline-call count in
    # the stats file can be lower (the runner merges waiting batches) or higher (it splits
    # incompatible requests). Both are exposed; this checks Triton's side is wired up.
    metrics = triton_server.metrics()
    success = re.search(r'nv_inference_request_success\{model="neurall_tiny_sd".*\} (\d+)', metrics)
    executions = re.search(r'nv_inference_exec_count\{model="neurall_tiny_sd".*\} (\d+)', metrics)
    assert success
    assert executions
    assert int(executions.group(1)) <= int(success.group(1))


FAMILY_REQUESTS = {
    "tiny-sd": {"guidance_scale": 7.5},
    "tiny-sdxl": {"guidance_scale": 7.5, "negative_prompt": "blurry"},
    "tiny-flux": {"guidance_scale": 3.5, "steps": 4},
}


@pytest.mark.asyncio
async def test_each_family_gives_the_embedded_bytes_and_the_budget_holds(
    triton_server: TritonServer, pipeline: Pipeline, model_cache_dir: Path
) -> None:
    """One job per family, in an order that makes the server (whose budget holds two of the
    three models) unload the least recently used one twice: every job succeeds with the
    bytes the in-process pipeline gives, and the states follow."""
    # Each job may wait for its model's load and for the requests of earlier tests still
    # running on the shared server: more room than the usual minute on a loaded machine.
    async with started_triton_client(triton_server.url, timeout_s=300) as triton:
        await _one_job_per_family(triton, pipeline, model_cache_dir)


async def _one_job_per_family(
    triton: TritonBackend, pipeline: Pipeline, model_cache_dir: Path
) -> None:
    catalog = builtin_catalog()
    assert set(await triton.model_states()) == {spec.id for spec in catalog}
    for model_id in ["tiny-sdxl", "tiny-flux", "tiny-sd"]:
        request = make_request(model=model_id, **FAMILY_REQUESTS[model_id])
        steps, result = await collect(triton.generate(request))
        assert [s.step for s in steps] == list(range(1, request.steps + 1))
        local = (
            pipeline
            if model_id == "tiny-sd"
            else Pipeline.load(catalog[model_id], model_cache_dir, device="cpu")
        )
        assert result.images == local.run([request])[0].images
    assert await triton.model_states() == {
        "tiny-sd": "READY",
        "tiny-sdxl": "COLD",
        "tiny-flux": "READY",
    }
    # What a job that waits for a load is told to expect: each load as last measured.
    load_seconds = await triton.model_load_seconds()
    assert set(load_seconds) == {spec.id for spec in catalog}
    assert all(seconds > 0 for seconds in load_seconds.values())


@pytest.mark.asyncio
async def test_a_request_for_another_triton_model_is_refused(
    triton_server: TritonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client routes by the request's model; a request sent to another model's endpoint
    fails rather than running on the wrong weights."""
    from neurall.gpu import triton_client

    backend = TritonBackend(triton_server.url, timeout_s=60)
    monkeypatch.setattr(triton_client, "triton_name", lambda _model_id: "neurall_tiny_sd")
    try:
        with pytest.raises(InferenceError, match="sent to 'tiny-sd'"):
            await collect(backend.generate(make_request(model="tiny-flux", steps=2)))
    finally:
        await backend.close()


@pytest.mark.asyncio
async def test_three_models_under_mixed_load_give_each_job_its_own_bytes(
    triton_server: TritonServer, pipeline: Pipeline, model_cache_dir: Path
) -> None:
    """Jobs for all three models at once, on the server whose budget holds two of them:
    every job gets the bytes it gets alone, and no pipeline call held two models."""
    catalog = builtin_catalog()
    requests = [
        make_request(model=model_id, seed=300 + i, **FAMILY_REQUESTS[model_id])
        for i in range(2)
        for model_id in ("tiny-sd", "tiny-sdxl", "tiny-flux")
    ]
    before = len(triton_server.stats()["batch_models"])
    async with started_triton_client(triton_server.url, timeout_s=300) as triton:
        outputs = await asyncio.gather(*(collect(triton.generate(r)) for r in requests))
    calls = triton_server.stats()["batch_models"][before:]
    assert all(len(models) == 1 for models in calls), calls
    assert {models[0] for models in calls} == {spec.id for spec in catalog}
    local = {"tiny-sd": pipeline}
    for request, (_, result) in zip(requests, outputs, strict=True):
        if request.model not in local:
            local[request.model] = Pipeline.load(
                catalog[request.model], model_cache_dir, device="cpu"
            )
        assert result.images == local[request.model].run([request])[0].images, request.model
