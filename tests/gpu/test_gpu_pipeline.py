"""The tiny model and the Pipeline: determinism, sizes, batch invariance, progress, cancel."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from neurall.gpu import tiny
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.tiny import build_tiny_pipeline
from neurall.gpu.types import GenerationRequest, InferenceCanceled
from tests.support.gpu import make_request

pytestmark = pytest.mark.slow


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_tiny_build_is_deterministic(model_cache_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_pipeline(tmp_path / "tiny-sd")
    assert _tree_digest(again) == _tree_digest(model_cache_dir / "tiny-sd")


def test_tiny_build_reuses_a_complete_build(model_cache_dir: Path) -> None:
    path = model_cache_dir / "tiny-sd"
    before = (path / "unet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns
    assert build_tiny_pipeline(path) == path
    after = (path / "unet" / "diffusion_pytorch_model.safetensors").stat().st_mtime_ns
    assert before == after


def test_tiny_build_crash_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(target: Path) -> None:
        target.mkdir(parents=True)
        (target / "half-written").write_text("x")
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(tiny, "_build", crash)
    with pytest.raises(RuntimeError):
        build_tiny_pipeline(tmp_path / "tiny-sd")
    assert list(tmp_path.iterdir()) == []


def test_same_seed_same_bytes_other_seed_other_bytes(pipeline: Pipeline) -> None:
    first = pipeline.run([make_request()])[0].images
    again = pipeline.run([make_request()])[0].images
    other = pipeline.run([make_request(seed=4321)])[0].images
    assert first == again
    assert first != other


@pytest.mark.parametrize(("width", "height"), [(64, 64), (128, 64), (48, 96)])
def test_output_has_requested_size(pipeline: Pipeline, width: int, height: int) -> None:
    result = pipeline.run([make_request(width=width, height=height, num_images=2, steps=2)])[0]
    assert len(result.images) == 2
    assert all(_size(png) == (width, height) for png in result.images)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in result.images)


@pytest.mark.parametrize("guidance_scale", [7.5, 1.0])
def test_batch_gives_the_same_bytes_as_each_request_alone(
    pipeline: Pipeline, guidance_scale: float
) -> None:
    # guidance 1.0 turns classifier-free guidance off, so a lone request is a UNet batch of
    # one, which PyTorch computes on kernels of its own; 7.5 makes the whole batch a UNet
    # batch of 18, past the 16 where one thread hands 1x1 convolutions to oneDNN (see
    # neurall.gpu.invariance).
    requests = [
        make_request(
            prompt=prompt,
            negative_prompt="blurry" if i % 3 == 0 else None,
            seed=100 + i,
            num_images=1 + i % 2,
            guidance_scale=guidance_scale,
        )
        for i, prompt in enumerate(["a fox", "a castle on a hill at dawn", "x", "", "sea", "sky"])
    ]
    batched = pipeline.run(requests)
    for request, result in zip(requests, batched, strict=True):
        assert pipeline.run([request])[0].images == result.images


def test_image_i_of_a_request_is_seeded_with_seed_plus_i(pipeline: Pipeline) -> None:
    pair = pipeline.run([make_request(seed=50, num_images=2)])[0].images
    assert pipeline.run([make_request(seed=51)])[0].images == [pair[1]]


def test_incompatible_requests_are_refused(pipeline: Pipeline) -> None:
    with pytest.raises(ValueError, match="compatible_key"):
        pipeline.run([make_request(), make_request(width=128)])


def test_compatible_key_separates_what_cannot_share_a_call() -> None:
    base = make_request()
    assert Pipeline.compatible_key(base) == Pipeline.compatible_key(
        make_request(prompt="other", seed=9, num_images=3, preview_every=2)
    )
    for change in (
        {"width": 128},
        {"height": 128},
        {"steps": 7},
        {"guidance_scale": 3.0},
        {"lora": "adapters/a.safetensors"},
        {"lora": [("adapters/a.safetensors", 0.5)]},
        {"lora": [("adapters/a.safetensors", 1.0), ("adapters/b.safetensors", 1.0)]},
    ):
        assert Pipeline.compatible_key(make_request(**change)) != Pipeline.compatible_key(base)


def test_progress_for_every_step_and_previews_when_due(pipeline: Pipeline) -> None:
    calls: list[tuple[int, list[bytes | None]]] = []
    requests = [make_request(steps=6, preview_every=2), make_request(steps=6, num_images=2)]
    pipeline.run(requests, on_step=lambda step, previews: calls.append((step, previews)))
    assert [step for step, _ in calls] == [1, 2, 3, 4, 5, 6]
    for step, (first, second) in ((s, p) for s, p in calls):
        assert (first is not None) == (step % 2 == 0)
        assert second is None
    preview = calls[1][1][0]
    assert preview is not None
    assert preview.startswith(b"\x89PNG")
    assert _size(preview) == (8, 8)  # the latent grid: 1/8 of 64x64


def test_cancel_stops_between_steps(pipeline: Pipeline) -> None:
    seen: list[int] = []
    with pytest.raises(InferenceCanceled):
        pipeline.run(
            [make_request(steps=50)],
            on_step=lambda step, _previews: seen.append(step),
            should_cancel=lambda: len(seen) >= 3,
        )
    assert seen == [1, 2, 3]
    # The pipeline is usable afterwards and unaffected by the aborted run.
    assert pipeline.run([make_request()])[0].images == pipeline.run([make_request()])[0].images


def test_prompts_never_reach_the_logs(pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    # Longer than the tokenizer's 32 tokens: diffusers would log the truncated remainder.
    secret = "confidential " + " ".join(f"zebra{i}" for i in range(40))
    with caplog.at_level(logging.DEBUG):
        pipeline.run([make_request(prompt=secret, negative_prompt="hidden-negative", steps=2)])
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for leaked in ("zebra", "confidential", "hidden-negative"):
        assert leaked not in text


def test_request_repr_hides_the_prompt() -> None:
    request = make_request(prompt="my secret prompt", negative_prompt="secret negative")
    assert "secret" not in repr(request)


def test_request_validation() -> None:
    for bad in ({"width": 65}, {"steps": 0}, {"num_images": 0}, {"seed": -1}):
        with pytest.raises(ValueError):  # noqa: PT011 - each field has its own message
            make_request(**bad)
    assert isinstance(make_request(), GenerationRequest)
