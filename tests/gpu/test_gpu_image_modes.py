"""Image-to-image, inpainting and schedulers on the tiny model: what the strengths promise,
what inpainting keeps, mixed batches, and the same bytes through real Triton.

The tiny model's VAE has random weights, so any denoising step scrambles the picture (its
VAE round trip alone is ~90/255 per channel away from the input): "close to the input" can
only be checked where no step runs. Measured here: text-to-image vs the input 91.6/255 mean
absolute distance; image-to-image at strength 0 and 0.1 with 6 steps (no step runs) 0.0; at
0.2 to 0.9, 93 to 95 from the input and 34 to 37 from text-to-image; at 1.0 0.0 from
text-to-image (it runs as text-to-image, see neurall.gpu.modes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from neurall.gpu.embedded import EmbeddedBackend
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.triton_client import TritonBackend
from neurall.gpu.types import SCHEDULERS, GenerationRequest, InferenceCanceled
from tests.support.gpu import collect, make_request

pytestmark = pytest.mark.slow


def _png(pixels: np.ndarray, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB")).astype(np.float64)


_INPUT = np.zeros((64, 64, 3), np.uint8)
_INPUT[:, :32] = (200, 40, 40)
_INPUT[:, 32:] = (30, 30, 220)
INIT = _png(_INPUT)
_MASK = np.zeros((64, 64), np.uint8)
_MASK[16:48, 16:48] = 255  # white: repainted
MASK = _png(_MASK, "L")


def img2img(strength: float, **overrides: object) -> GenerationRequest:
    fields = {"mode": "IMAGE_TO_IMAGE", "init_image": INIT, "strength": strength, **overrides}
    return make_request(**fields)


def inpaint(strength: float = 1.0, **overrides: object) -> GenerationRequest:
    return make_request(mode="INPAINT", init_image=INIT, mask=MASK, strength=strength, **overrides)


def _distance(png: bytes, other: np.ndarray) -> float:
    return float(np.abs(_pixels(png) - other).mean())


def test_strength_near_zero_keeps_the_input(pipeline: Pipeline) -> None:
    # 6 steps x 0.1 < 1: no denoising step runs, the input is the result.
    for strength in (0.0, 0.1):
        (out,) = pipeline.run([img2img(strength)])[0].images
        assert _distance(out, _INPUT) == 0.0


def test_strength_one_is_text_to_image_with_the_same_seed(pipeline: Pipeline) -> None:
    text = pipeline.run([make_request()])[0].images
    assert pipeline.run([img2img(1.0)])[0].images == text
    # In between, the input shows: the result is neither the input nor text-to-image.
    (middle,) = pipeline.run([img2img(0.5)])[0].images
    assert middle != text[0]
    assert _distance(middle, _INPUT) > 10


def test_inpainting_keeps_the_masked_out_pixels_and_repaints_the_rest(pipeline: Pipeline) -> None:
    keep = _MASK < 128
    for strength in (0.5, 1.0):
        (out,) = pipeline.run([inpaint(strength)])[0].images
        pixels = _pixels(out)
        assert np.abs(pixels - _INPUT)[keep].max() == 0
        assert np.abs(pixels - _INPUT)[~keep].mean() > 20


@pytest.mark.parametrize("request_", [img2img(0.9, steps=30), inpaint(0.9, steps=30)])
def test_progress_previews_and_cancel_in_the_image_modes(
    pipeline: Pipeline, request_: GenerationRequest
) -> None:
    seen: list[tuple[int, bytes | None]] = []
    request = dataclasses.replace(request_, preview_every=3)
    with pytest.raises(InferenceCanceled):
        pipeline.run(
            [request],
            on_step=lambda step, previews: seen.append((step, previews[0])),
            should_cancel=lambda: len(seen) >= 3,
        )
    # strength 0.9 of 30 steps runs 27; progress counts in the request's 30.
    assert [step for step, _ in seen] == [1, 2, 3]
    assert [preview is not None for _, preview in seen] == [False, False, True]


def test_each_scheduler_is_deterministic_and_its_own(pipeline: Pipeline) -> None:
    outputs = {}
    for name in SCHEDULERS:
        first = pipeline.run([make_request(scheduler=name, steps=4)])[0].images
        assert pipeline.run([make_request(scheduler=name, steps=4)])[0].images == first
        outputs[name] = first[0]
    # The tiny model's own scheduler is DDIM; every other one samples differently.
    assert outputs["DEFAULT"] == outputs["DDIM"]
    others = [outputs[n] for n in SCHEDULERS if n != "DEFAULT"]
    assert len(set(others)) == len(others)


def test_compatible_key_separates_modes_schedulers_and_strengths() -> None:
    keys = {
        Pipeline.compatible_key(r)
        for r in (
            make_request(),
            make_request(scheduler="EULER"),
            img2img(0.5),
            img2img(0.6),
            inpaint(0.5),
        )
    }
    assert len(keys) == 5
    # Same mode and strength, other images and seeds: one call.
    other = img2img(0.5, seed=5, init_image=_png(255 - _INPUT))
    assert Pipeline.compatible_key(other) == Pipeline.compatible_key(img2img(0.5))


@pytest.mark.asyncio
async def test_a_mixed_batch_gives_what_each_gives_alone(pipeline: Pipeline) -> None:
    requests = [
        make_request(seed=1),
        img2img(0.5, seed=2),
        inpaint(0.8, seed=3),
        make_request(seed=4),
        img2img(0.5, seed=5, init_image=_png(255 - _INPUT)),
        inpaint(0.8, seed=6, scheduler="EULER"),
    ]
    backend = EmbeddedBackend(pipeline=pipeline)
    await backend.start()
    try:
        outputs = await asyncio.gather(*(collect(backend.generate(r)) for r in requests))
        runner = backend.runner
        assert runner is not None
        # Never more than the compatible ones together: 4 groups, at most 2 in a call.
        assert max(runner.batch_sizes) <= 2
        assert len(runner.batch_sizes) >= 4
    finally:
        await backend.close()
    for request, (steps, result) in zip(requests, outputs, strict=True):
        assert steps, "progress streams for every mode"
        assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_every_mode_through_triton_matches_the_embedded_pipeline(
    triton: TritonBackend, pipeline: Pipeline
) -> None:
    requests = [
        make_request(scheduler="DPM_PP_2M", preview_every=2),
        img2img(0.5, preview_every=2, scheduler="EULER_ANCESTRAL"),
        inpaint(0.75, preview_every=2, scheduler="UNIPC"),
    ]
    outputs = await asyncio.gather(*(collect(triton.generate(r)) for r in requests))
    for request, (steps, result) in zip(requests, outputs, strict=True):
        assert steps[-1].step == steps[-1].total_steps == request.steps
        assert any(s.preview_png is not None for s in steps)
        assert result.images == pipeline.run([request])[0].images


@pytest.mark.asyncio
async def test_a_group_still_gathering_does_not_hold_up_another(pipeline: Pipeline) -> None:
    """Text-to-image requests keep arriving within the window, so their batch keeps waiting
    for companions; the lone image-to-image request's window passes meanwhile and it runs
    first instead of waiting behind them."""
    backend = EmbeddedBackend(pipeline=pipeline, batch_window_s=0.6)
    await backend.start()
    finished: list[str] = []

    async def run(name: str, request: GenerationRequest) -> None:
        await collect(backend.generate(request))
        finished.append(name)

    try:
        tasks = [asyncio.create_task(run("text-0", make_request(seed=0, steps=2)))]
        tasks.append(asyncio.create_task(run("image", img2img(0.5, steps=2))))
        for i in range(1, 5):
            await asyncio.sleep(0.3)
            tasks.append(asyncio.create_task(run(f"text-{i}", make_request(seed=i, steps=2))))
        await asyncio.gather(*tasks)
        runner = backend.runner
        assert runner is not None
        assert runner.batch_sizes[0] == 1  # the image-to-image request, alone
    finally:
        await backend.close()
    assert finished[0] == "image", finished
