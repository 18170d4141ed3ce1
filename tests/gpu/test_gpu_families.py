"""The SDXL and FLUX families beside SD 1.x: each tiny model end to end on the embedded
backend, batching per model, and the pool that loads models on demand within a budget."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neurall.gpu.catalog import builtin_catalog
from neurall.gpu.embedded import EmbeddedBackend
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.types import GenerationRequest, InferenceError
from tests.support.gpu import (
    LOCAL_FILES,
    collect,
    decode_png,
    make_request,
    save_denoiser_adapter,
    two_of_three_budget_mb,
)

pytestmark = pytest.mark.slow

CATALOG = builtin_catalog()
FAMILY_MODELS = ["tiny-sdxl", "tiny-flux"]


@pytest.fixture(scope="module")
def family_pipelines(model_cache_dir: Path) -> dict[str, Pipeline]:
    return {
        model_id: Pipeline.load(
            CATALOG[model_id], model_cache_dir, device="cpu", adapter_files=LOCAL_FILES
        )
        for model_id in FAMILY_MODELS
    }


@contextlib.asynccontextmanager
async def _backend(*pipelines: Pipeline, **options: object) -> AsyncIterator[EmbeddedBackend]:
    backend = EmbeddedBackend(pipelines=pipelines, **options)  # type: ignore[arg-type]
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _mask() -> bytes:
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def _request(model_id: str, **overrides: object) -> GenerationRequest:
    spec = CATALOG[model_id]
    fields = {
        "model": model_id,
        "width": spec.native_width,
        "height": spec.native_height,
        "steps": 4,
        "guidance_scale": spec.default_guidance,
        "negative_prompt": "blurry",
    }
    return make_request(**{**fields, **overrides})


@pytest.mark.asyncio
@pytest.mark.parametrize("model_id", FAMILY_MODELS)
async def test_text_to_image_streams_steps_previews_and_images(
    family_pipelines: dict[str, Pipeline], model_id: str
) -> None:
    pipeline = family_pipelines[model_id]
    request = _request(model_id, preview_every=2, num_images=2)
    async with _backend(pipeline) as backend:
        steps, result = await collect(backend.generate(request))
    assert [s.step for s in steps] == [1, 2, 3, 4]
    assert [s.preview_png is not None for s in steps] == [False, True, False, True]
    assert [decode_png(png).shape for png in result.images] == [(64, 64, 3)] * 2
    assert result.images[0] != result.images[1]  # seeds seed and seed + 1
    assert result.images == pipeline.run([request])[0].images


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_image_to_image_and_inpainting(
    family_pipelines: dict[str, Pipeline], model_id: str
) -> None:
    pipeline = family_pipelines[model_id]
    red = _png((200, 20, 20))
    (changed,) = pipeline.run(
        [_request(model_id, mode="IMAGE_TO_IMAGE", init_image=red, strength=0.6)]
    )[0].images
    assert changed != red
    assert decode_png(changed).shape == (64, 64, 3)
    inpaint = _request(model_id, mode="INPAINT", init_image=red, mask=_mask(), strength=0.9)
    (painted,) = pipeline.run([inpaint])[0].images
    pixels, original = decode_png(painted), decode_png(red)
    # Outside the mask the input is kept; inside it is repainted.
    assert np.array_equal(pixels[:8], original[:8])
    assert not np.array_equal(pixels[24:40, 24:40], original[24:40, 24:40])


def test_schedulers_per_family(family_pipelines: dict[str, Pipeline]) -> None:
    sdxl = family_pipelines["tiny-sdxl"]
    default = sdxl.run([_request("tiny-sdxl")])[0].images
    assert sdxl.run([_request("tiny-sdxl", scheduler="EULER_ANCESTRAL")])[0].images != default
    # FLUX keeps its flow-matching scheduler: any other is refused, not silently ignored.
    with pytest.raises(InferenceError, match="scheduler"):
        family_pipelines["tiny-flux"].run([_request("tiny-flux", scheduler="EULER")])


def test_flux_needs_sides_in_multiples_of_16(family_pipelines: dict[str, Pipeline]) -> None:
    assert CATALOG["tiny-flux"].size_multiple == 16
    with pytest.raises(InferenceError, match="multiples of 16"):
        family_pipelines["tiny-flux"].run([_request("tiny-flux", width=72)])


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_an_adapter_on_the_familys_denoiser(
    family_pipelines: dict[str, Pipeline],
    model_id: str,
    model_cache_dir: Path,
    tmp_path: Path,
) -> None:
    pipeline = family_pipelines[model_id]
    adapter = save_denoiser_adapter(model_cache_dir / model_id, tmp_path / "a.safetensors", 7)
    base = pipeline.run([_request(model_id)])[0].images
    with_adapter = pipeline.run([_request(model_id, lora=adapter)])[0].images
    assert with_adapter != base
    assert pipeline.run([_request(model_id)])[0].images == base


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_same_seed_same_bytes_alone_and_batched(
    family_pipelines: dict[str, Pipeline], model_id: str
) -> None:
    pipeline = family_pipelines[model_id]
    request = _request(model_id, seed=31)
    other = _request(model_id, seed=99, prompt="a lighthouse, stormy sea")
    alone = pipeline.run([request])[0].images
    batched = pipeline.run([other, request])
    assert batched[1].images == alone
    assert batched[0].images != alone


@pytest.mark.asyncio
async def test_a_batch_never_mixes_models(
    family_pipelines: dict[str, Pipeline], pipeline: Pipeline
) -> None:
    pipelines = [pipeline, *family_pipelines.values()]
    calls = [p.calls for p in pipelines]
    async with _backend(*pipelines, batch_window_s=0.5) as backend:
        requests = [_request(p.spec.id, seed=5) for p in pipelines for _ in range(2)]
        await asyncio.gather(*(collect(backend.generate(r)) for r in requests))
        assert backend.runner is not None
        assert sorted(backend.runner.batch_sizes) == [2, 2, 2]
    assert [p.calls - c for p, c in zip(pipelines, calls, strict=True)] == [1, 1, 1]


@pytest.mark.asyncio
async def test_models_load_on_demand_within_the_budget(
    family_pipelines: dict[str, Pipeline], pipeline: Pipeline, model_cache_dir: Path
) -> None:
    sizes = [pipeline.memory_bytes, *(p.memory_bytes for p in family_pipelines.values())]
    budget = int(two_of_three_budget_mb(sizes) * 2**20)
    backend = EmbeddedBackend(CATALOG, model_cache_dir, device="cpu", memory_budget_bytes=budget)
    assert await backend.model_states() == {spec.id: "COLD" for spec in CATALOG}
    await backend.start()
    try:
        # tiny-sd is preloaded; the others load on their first request.
        assert await backend.model_states() == {
            "tiny-sd": "READY",
            "tiny-sdxl": "COLD",
            "tiny-flux": "COLD",
        }
        for model_id in ["tiny-sdxl", "tiny-flux", "tiny-sd"]:
            _, result = await collect(backend.generate(_request(model_id)))
            reference = (family_pipelines.get(model_id) or pipeline).run([_request(model_id)])
            assert result.images == reference[0].images
        assert backend.pool is not None
        # Loading FLUX unloaded the least recently used (tiny-sd), which then came back
        # and unloaded the next least recently used (tiny-sdxl).
        assert backend.pool.unloaded == ["tiny-sd", "tiny-sdxl"]
        assert await backend.model_states() == {
            "tiny-sd": "READY",
            "tiny-sdxl": "COLD",
            "tiny-flux": "READY",
        }
        with pytest.raises(InferenceError, match="unknown model"):
            await collect(backend.generate(_request("tiny-sd", model="nope")))
    finally:
        await backend.close()
