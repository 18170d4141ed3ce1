"""EmbeddedBackend: the stream's shape, cancellation on aclose, a responsive event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from neurall.gpu.backend import InferenceBackend, make_backend
from neurall.gpu.embedded import EmbeddedBackend
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.types import GenerationResult, InferenceUnavailable, StepProgress
from tests.support.gpu import collect, make_request
from tests.support.poll import until


@contextlib.asynccontextmanager
async def _started(pipeline: Pipeline, **options: Any) -> AsyncIterator[EmbeddedBackend]:
    backend = EmbeddedBackend(pipeline=pipeline, **options)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def backend(pipeline: Pipeline) -> AsyncIterator[EmbeddedBackend]:
    async with _started(pipeline) as embedded:
        yield embedded


@pytest.mark.asyncio
async def test_lazy_load_from_the_factory(model_cache_dir: Path) -> None:
    backend = make_backend("embedded", model="tiny", cache_dir=model_cache_dir, device="cpu")
    assert isinstance(backend, InferenceBackend)
    assert not await backend.ready()
    await backend.start()
    try:
        assert await backend.ready()
        _, result = await collect(backend.generate(make_request(steps=2)))
        assert len(result.images) == 1
    finally:
        await backend.close()
    assert not await backend.ready()
    with pytest.raises(InferenceUnavailable):
        await collect(backend.generate(make_request(steps=2)))


@pytest.mark.asyncio
async def test_steps_in_order_then_the_result(backend: EmbeddedBackend, pipeline: Pipeline) -> None:
    request = make_request(steps=7, num_images=2, preview_every=3)
    steps, result = await collect(backend.generate(request))
    assert [(s.step, s.total_steps) for s in steps] == [(i, 7) for i in range(1, 8)]
    assert [s.preview_png is not None for s in steps] == [i % 3 == 0 for i in range(1, 8)]
    assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_aclose_cancels_the_pipeline_between_steps(
    backend: EmbeddedBackend, pipeline: Pipeline
) -> None:
    unet_calls = 0

    def count(*_: object) -> None:
        nonlocal unet_calls
        unet_calls += 1

    hook = pipeline._pipe.unet.register_forward_pre_hook(count)
    runner = backend.runner
    assert runner is not None
    try:
        stream = backend.generate(make_request(steps=400))
        async for item in stream:
            assert isinstance(item, StepProgress)
            if item.step == 3:
                break
        await stream.aclose()
        await until(
            lambda: runner.canceled_calls, within=10.0, every=0.01, what="the canceled call"
        )
    finally:
        hook.remove()
    assert runner.canceled_calls == 1
    assert runner.batch_sizes == []  # no call ran to completion
    # A few steps past the third, not 400: the pipeline stopped early.
    assert unet_calls < 20
    # The worker is free again.
    _, result = await collect(backend.generate(make_request(steps=2)))
    assert len(result.images) == 1


@pytest.mark.asyncio
async def test_event_loop_stays_responsive(backend: EmbeddedBackend) -> None:
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    steps, _ = await collect(backend.generate(make_request(steps=40)))
    elapsed = time.monotonic() - started
    stop.set()
    await task
    assert len(steps) == 40
    # The ticker kept ticking throughout: no gap anywhere near the generation's duration.
    assert len(gaps) >= elapsed / 0.01 / 4
    assert max(gaps) < max(0.25, elapsed / 4)


@pytest.mark.asyncio
async def test_concurrent_generations_are_batched(
    backend: EmbeddedBackend, pipeline: Pipeline
) -> None:
    requests = [make_request(seed=i, prompt=f"picture {i}") for i in range(5)]
    outputs = await asyncio.gather(*(collect(backend.generate(r)) for r in requests))
    runner = backend.runner
    assert runner is not None
    # The first starts alone at once; the others queue meanwhile and run as one batch.
    assert len(runner.batch_sizes) < len(requests)
    for request, (steps, result) in zip(requests, outputs, strict=True):
        assert [s.step for s in steps] == list(range(1, 7))
        assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_a_batching_window_waits_for_companions_of_a_lone_job(pipeline: Pipeline) -> None:
    async with _started(pipeline, batch_window_s=0.5) as backend:
        first = asyncio.create_task(collect(backend.generate(make_request(seed=1))))
        await asyncio.sleep(0.1)  # arrives while the first one waits in the window
        second = asyncio.create_task(collect(backend.generate(make_request(seed=2))))
        await asyncio.gather(first, second)
        runner = backend.runner
        assert runner is not None
        # Without the window the first would have started alone: one call of two instead.
        assert runner.batch_sizes == [2]


@pytest.mark.asyncio
async def test_the_window_runs_from_the_newest_companion(pipeline: Pipeline) -> None:
    # Three arrivals 0.6 s apart: the burst lasts longer than the 1 s window, but each
    # companion came within it of the one before, so they gather into one call.
    async with _started(pipeline, batch_window_s=1.0) as backend:
        tasks = []
        for seed in range(3):
            if tasks:
                await asyncio.sleep(0.6)
            tasks.append(asyncio.create_task(collect(backend.generate(make_request(seed=seed)))))
        await asyncio.gather(*tasks)
        runner = backend.runner
        assert runner is not None
        # Counted from the oldest job, the window would have closed before the third came.
        assert runner.batch_sizes == [3]


@pytest.mark.asyncio
async def test_the_embedded_pipeline_writes_its_batching_counters(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    stats_path = tmp_path / "pipeline-stats.json"
    began = time.monotonic()
    async with _started(pipeline, stats_path=stats_path) as backend:
        await collect(backend.generate(make_request(steps=2)))
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    busy_s = stats.pop("busy_s")
    assert stats == {
        "pipeline_calls": 1,
        "requests": 1,
        "batch_sizes": [1],
        "batch_models": [["tiny-sd"]],
        "canceled_calls": 0,
    }
    assert 0 < busy_s < time.monotonic() - began


@pytest.mark.asyncio
async def test_a_full_batch_does_not_wait_out_the_window(pipeline: Pipeline) -> None:
    async with _started(pipeline, max_batch_size=2, batch_window_s=60) as backend:
        requests = [make_request(seed=i) for i in range(2)]
        await asyncio.wait_for(
            asyncio.gather(*(collect(backend.generate(r)) for r in requests)), timeout=30
        )
        runner = backend.runner
        assert runner is not None
        assert runner.batch_sizes == [2]


@pytest.mark.asyncio
async def test_close_fails_running_and_waiting_generations(pipeline: Pipeline) -> None:
    backend = EmbeddedBackend(pipeline=pipeline)
    await backend.start()
    running = backend.generate(make_request(steps=300))
    assert isinstance(await anext(running), StepProgress)
    waiting = asyncio.create_task(collect(backend.generate(make_request(width=128))))
    await asyncio.sleep(0.05)
    await backend.close()
    # Shutdown is an outage to both, not a cancel they asked for: the caller retries.
    with pytest.raises(InferenceUnavailable):
        await waiting

    async def drain() -> None:
        async for item in running:
            assert not isinstance(item, GenerationResult)

    with pytest.raises(InferenceUnavailable):
        await drain()
