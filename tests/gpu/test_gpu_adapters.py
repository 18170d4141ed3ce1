"""LoRA adapters ("clones"): saved the way training saves them, applied per request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import UNet2DConditionModel
from peft import LoraConfig, get_peft_model_state_dict
from safetensors.torch import save_file

from neurall.gpu.adapter_files import DirectoryAdapterFiles
from neurall.gpu.adapters import AdapterCache
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.types import InferenceError
from tests.gpu.helpers import make_request

TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


def _trained_unet(model_dir: Path, seed: int, alpha: float | None) -> UNet2DConditionModel:
    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model_dir / "unet")
    # init_lora_weights=False: random A and B, so the untrained adapter visibly changes output.
    config = LoraConfig(r=4, lora_alpha=alpha or 4, target_modules=TARGETS, init_lora_weights=False)
    unet.add_adapter(config)
    return unet


def _save_adapter(model_dir: Path, path: Path, seed: int, alpha: float | None = None) -> Path:
    """What the training side does: LoRA on the UNet, then its PEFT state dict as safetensors."""
    unet = _trained_unet(model_dir, seed, alpha)
    metadata = (
        {"lora_adapter_metadata": json.dumps({"r": 4, "lora_alpha": alpha})} if alpha else None
    )
    save_file(get_peft_model_state_dict(unet), str(path), metadata=metadata)
    return path


@pytest.fixture(scope="module")
def adapters(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("clones")
    model_dir = model_cache_dir / "tiny-sd"
    return [
        _save_adapter(model_dir, directory / "a.safetensors", seed=1),
        _save_adapter(model_dir, directory / "b.safetensors", seed=2),
        _save_adapter(model_dir, directory / "c.safetensors", seed=3, alpha=8),
    ]


@pytest.fixture
def clone_pipeline(model_cache_dir: Path, adapters: list[Path]) -> Pipeline:
    # Its own instance: adapters attach to the UNet, and the shared one must stay pristine.
    # Its store is the adapters' directory, so each file's name is its key.
    files = DirectoryAdapterFiles(adapters[0].parent)
    return Pipeline.load(
        "tiny", model_cache_dir, device="cpu", adapter_cache_size=2, adapter_files=files
    )


def _images(pipeline: Pipeline, adapter: Path | None) -> list[bytes]:
    request = make_request(adapter_key=adapter.name if adapter else None)
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
    reference = _trained_unet(model_cache_dir / "tiny-sd", seed, alpha)
    clone_pipeline._adapters.activate(adapters[index].name)
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
        clone_pipeline.run([make_request(adapter_key="../a.safetensors")])
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
