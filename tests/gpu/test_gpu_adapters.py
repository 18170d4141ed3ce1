"""LoRA adapters ("clones"): saved the way training saves them, applied per request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

from neurall.gpu.adapters import AdapterCache
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.triton_client import TritonBackend
from neurall.gpu.types import InferenceError
from tests.support.gpu import LOCAL_FILES, adapter_key, make_request, save_adapter, trained_unet
from tests.support.triton import TritonServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def adapters(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("clones")
    model_dir = model_cache_dir / "tiny-sd"
    return [
        save_adapter(model_dir, directory / "a.safetensors", seed=1),
        save_adapter(model_dir, directory / "b.safetensors", seed=2),
        save_adapter(model_dir, directory / "c.safetensors", seed=3, alpha=8),
    ]


@pytest.fixture
def clone_pipeline(model_cache_dir: Path, adapters: list[Path]) -> Pipeline:
    # Its own instance: adapters attach to the UNet, and the shared one must stay pristine.
    # Its store is this machine's files (a Path's key is its path: tests/support/gpu.py).
    return Pipeline.load(
        "tiny", model_cache_dir, device="cpu", adapter_cache_size=2, adapter_files=LOCAL_FILES
    )


def _images(pipeline: Pipeline, adapter: Path | None) -> list[bytes]:
    request = make_request(lora=adapter)
    return pipeline.run([request])[0].images


def test_adapter_changes_output_and_base_is_restored(
    clone_pipeline: Pipeline, pipeline: Pipeline, adapters: list[Path]
) -> None:
    base = _images(pipeline, None)
    assert _images(clone_pipeline, None) == base
    with_a = _images(clone_pipeline, adapters[0])
    with_b = _images(clone_pipeline, adapters[1])
    assert with_a != base
    assert with_b != base
    assert with_a != with_b
    # Switching back and forth gives the same bytes: nothing of one adapter leaks into another.
    assert _images(clone_pipeline, None) == base
    assert _images(clone_pipeline, adapters[0]) == with_a
    assert _images(clone_pipeline, None) == base


@pytest.mark.parametrize(("index", "seed", "alpha"), [(0, 1, None), (2, 3, 8)])
def test_loaded_adapter_computes_what_the_trained_one_did(
    clone_pipeline: Pipeline,
    adapters: list[Path],
    model_cache_dir: Path,
    index: int,
    seed: int,
    alpha: float | None,
) -> None:
    reference = trained_unet(model_cache_dir / "tiny-sd", seed, alpha)
    clone_pipeline._adapters.activate(((adapter_key(adapters[index]), 1.0),))
    served = clone_pipeline._pipe.unet
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, 8, 8, generator=generator)
    context = torch.randn(2, 32, 32, generator=generator)
    with torch.no_grad():
        expected = reference(sample, 500, encoder_hidden_states=context).sample
        actual = served(sample, 500, encoder_hidden_states=context).sample
        base = UNet2DConditionModel.from_pretrained(model_cache_dir / "tiny-sd" / "unet")(
            sample, 500, encoder_hidden_states=context
        ).sample
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(actual, base, atol=1e-3)


def test_lru_evicts_and_reloads(clone_pipeline: Pipeline, adapters: list[Path]) -> None:
    first = _images(clone_pipeline, adapters[0])
    _images(clone_pipeline, adapters[1])
    _images(clone_pipeline, adapters[2])  # capacity 2: evicts adapters[0]
    cache: AdapterCache = clone_pipeline._adapters
    assert len(cache._loaded) == 2
    assert _images(clone_pipeline, adapters[0]) == first


def test_alpha_from_metadata_is_applied(clone_pipeline: Pipeline, adapters: list[Path]) -> None:
    # The same tensors without the metadata mean alpha = r, a different LoRA scale.
    from safetensors.torch import load_file

    plain = adapters[0].parent / "plain.safetensors"
    save_file(load_file(str(adapters[2])), str(plain))
    assert _images(clone_pipeline, adapters[2]) != _images(clone_pipeline, plain)


def test_bad_adapter_is_a_permanent_error(
    clone_pipeline: Pipeline, pipeline: Pipeline, adapters: list[Path]
) -> None:
    with pytest.raises(InferenceError, match="not found"):
        _images(clone_pipeline, adapters[0].parent / "missing.safetensors")
    with pytest.raises(InferenceError, match="invalid adapter key"):
        clone_pipeline.run([make_request(lora="../a.safetensors")])
    with pytest.raises(InferenceError, match="no adapter store"):
        _images(pipeline, adapters[0])
    junk = adapters[0].parent / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(InferenceError, match="unreadable"):
        _images(clone_pipeline, junk)
    save_file({"unrelated": torch.zeros(2)}, str(adapters[0].parent / "empty.safetensors"))
    with pytest.raises(InferenceError, match="no LoRA"):
        _images(clone_pipeline, adapters[0].parent / "empty.safetensors")
    # The pipeline still works after the failures.
    assert _images(clone_pipeline, None)


def _blend(pipeline: Pipeline, pairs: list[tuple[Path, float]] | None) -> list[bytes]:
    return pipeline.run([make_request(steps=2, lora=pairs)])[0].images


def test_weights_blend_adapters(clone_pipeline: Pipeline, adapters: list[Path]) -> None:
    a, b = adapters[0], adapters[1]
    base = _blend(clone_pipeline, None)
    alone_a = _blend(clone_pipeline, [(a, 1.0)])
    # Weight 0 switches an adapter off.
    assert _blend(clone_pipeline, [(a, 0.0)]) == base
    assert _blend(clone_pipeline, [(a, 1.0), (b, 0.0)]) == alone_a
    both = _blend(clone_pipeline, [(a, 1.0), (b, 1.0)])
    half = _blend(clone_pipeline, [(a, 0.5)])
    assert len({*map(tuple, (base, alone_a, both, half))}) == 4
    # Switching sets and weights back and forth leaks nothing between them.
    assert _blend(clone_pipeline, None) == base
    assert _blend(clone_pipeline, [(a, 1.0), (b, 1.0)]) == both


async def test_mixed_adapter_sets_in_one_runner_give_what_they_give_alone(
    clone_pipeline: Pipeline, adapters: list[Path]
) -> None:
    """Requests with different adapter sets (or weights) sent together never share a call,
    so each gives exactly what it gives alone."""
    from neurall.gpu.embedded import EmbeddedBackend
    from tests.support.gpu import collect

    a, b, c = adapters
    sets: list[list[tuple[Path, float]] | None] = [
        [(a, 1.0), (b, 0.5)],
        [(c, 1.0)],
        [(a, 1.0), (b, 1.5)],
        None,
    ]
    requests = [make_request(seed=7, steps=2, lora=s) for s in sets]
    alone = [clone_pipeline.run([r])[0] for r in requests]
    backend = EmbeddedBackend(pipeline=clone_pipeline, max_batch_size=8, batch_window_s=0.2)
    await backend.start()
    try:
        together = await asyncio.gather(*(collect(backend.generate(r)) for r in requests))
        assert backend.runner is not None
        assert backend.runner.batch_sizes == [1, 1, 1, 1]  # one call per adapter set
    finally:
        await backend.close()
    assert [result for _steps, result in together] == alone


async def test_blended_adapters_through_triton_give_the_embedded_bytes(
    triton: TritonBackend,
    triton_server: TritonServer,
    clone_pipeline: Pipeline,
    adapters: list[Path],
) -> None:
    from tests.support.gpu import collect

    # The Triton server fetches the adapters from its bucket; this process reads the files.
    blend = [(adapters[0], 0.7), (adapters[2], 1.3)]
    stored = [(triton_server.store_adapter(path), weight) for path, weight in blend]
    _steps, result = await collect(triton.generate(make_request(seed=11, steps=2, lora=stored)))
    assert result == clone_pipeline.run([make_request(seed=11, steps=2, lora=blend)])[0]
