"""Clone training on the tiny SDXL and FLUX models: the adapter it saves is served by that
family's pipeline, and refused by another family's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import load_file

from neurall.gpu.catalog import builtin_catalog
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.training import TrainingCanceled, instance_prompt, train_lora
from neurall.gpu.training_families import FLUX_LORA_TARGET_MODULES
from neurall.gpu.types import GenerationRequest, InferenceError
from tests.support.gpu import LOCAL_FILES, Lora, make_request, training_photos

pytestmark = pytest.mark.slow

CATALOG = builtin_catalog()
FAMILY_MODELS = ["tiny-sdxl", "tiny-flux"]
# Random tiny weights need a large rate to move in a few steps (see test_gpu_training.py).
FAST = {"learning_rate": 5e-2, "batch_size": 2, "resolution": 64}
STEPS = 3


def _train(model_id: str, path: Path, cache_dir: Path, **overrides: object) -> Path:
    options = {"seed": 0, "cache_dir": cache_dir, "device": "cpu", **FAST, **overrides}
    train_lora(CATALOG[model_id], training_photos(count=3), "sks", STEPS, path, **options)
    return path


@pytest.fixture(scope="module")
def adapters(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("family-clones")
    return {
        model_id: _train(model_id, directory / f"{model_id}.safetensors", model_cache_dir)
        for model_id in FAMILY_MODELS
    }


@pytest.fixture(scope="module")
def pipelines(model_cache_dir: Path) -> dict[str, Pipeline]:
    # Their own instances: adapters attach to the denoiser, shared pipelines stay pristine.
    return {
        model_id: Pipeline.load(
            CATALOG[model_id], model_cache_dir, device="cpu", adapter_files=LOCAL_FILES
        )
        for model_id in [*FAMILY_MODELS, "tiny-sd"]
    }


def _request(model_id: str, lora: Lora = None) -> GenerationRequest:
    spec = CATALOG[model_id]
    return make_request(
        model=model_id,
        prompt=instance_prompt("sks"),
        steps=3,
        guidance_scale=spec.default_guidance,
        lora=lora,
    )


def _images(pipeline: Pipeline, model_id: str, lora: Lora = None) -> list[bytes]:
    return pipeline.run([_request(model_id, lora)])[0].images


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_the_adapter_records_its_family_and_base_model(
    adapters: dict[str, Path], model_id: str
) -> None:
    with safe_open(str(adapters[model_id]), framework="pt") as handle:
        metadata = handle.metadata()
    assert (metadata["family"], metadata["base_model"]) == (
        str(CATALOG[model_id].family),
        model_id,
    )
    assert metadata["lora_alpha"] == "4.0"
    tensors = load_file(str(adapters[model_id]))
    # Training moved B away from its zero initialisation.
    assert any(float(t.abs().max()) > 0 for k, t in tensors.items() if "lora_B" in k)


def test_flux_trains_both_streams_of_the_joint_blocks(adapters: dict[str, Path]) -> None:
    tensors = load_file(str(adapters["tiny-flux"]))
    modules = {key.split(".lora_")[0] for key in tensors}
    joint = {m.removeprefix("transformer_blocks.0.attn.") for m in modules if ".0.attn." in m}
    assert joint >= {"to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "to_add_out"}
    assert {m.rsplit(".", 1)[-1] for m in modules} <= {
        name.rsplit(".", 1)[-1] for name in FLUX_LORA_TARGET_MODULES
    }
    assert any(m.startswith("single_transformer_blocks.") for m in modules)


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_the_familys_pipeline_serves_the_clone(
    adapters: dict[str, Path], pipelines: dict[str, Pipeline], model_id: str
) -> None:
    pipeline = pipelines[model_id]
    base = _images(pipeline, model_id)
    cloned = _images(pipeline, model_id, adapters[model_id])
    assert cloned != base
    assert _images(pipeline, model_id, adapters[model_id]) == cloned
    assert _images(pipeline, model_id, [(adapters[model_id], 0.0)]) == base
    assert _images(pipeline, model_id) == base


def test_another_familys_adapter_is_refused(
    adapters: dict[str, Path], pipelines: dict[str, Pipeline]
) -> None:
    sd1 = pipelines["tiny-sd"]
    for model_id in FAMILY_MODELS:
        family = CATALOG[model_id].family
        with pytest.raises(InferenceError, match=rf"trained on a {family} model \({model_id}\)"):
            _images(sd1, "tiny-sd", adapters[model_id])
    # The SD 1.x pipeline still serves its base model afterwards.
    assert _images(sd1, "tiny-sd")


@pytest.mark.parametrize("model_id", FAMILY_MODELS)
def test_same_seed_same_adapter(
    adapters: dict[str, Path], model_cache_dir: Path, tmp_path: Path, model_id: str
) -> None:
    # FLUX's rerun checkpoints its activations: that saves memory and changes nothing else.
    checkpointing = model_id == "tiny-flux"
    path = tmp_path / "again.safetensors"
    again = load_file(
        str(_train(model_id, path, model_cache_dir, gradient_checkpointing=checkpointing))
    )
    first = load_file(str(adapters[model_id]))
    assert again.keys() == first.keys()
    assert all(bool((again[k] == first[k]).all()) for k in first)


def test_cancel_stops_between_steps_and_saves_nothing(
    model_cache_dir: Path, tmp_path: Path
) -> None:
    steps: list[tuple[int, int]] = []
    with pytest.raises(TrainingCanceled):
        _train(
            "tiny-flux",
            tmp_path / "clone.safetensors",
            model_cache_dir,
            on_step=lambda step, total, _loss: steps.append((step, total)),
            should_cancel=lambda: len(steps) >= 2,
        )
    assert steps == [(1, STEPS), (2, STEPS)]
    assert list(tmp_path.iterdir()) == []


def test_flux_needs_a_resolution_in_multiples_of_16(model_cache_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        _train("tiny-flux", tmp_path / "x.safetensors", model_cache_dir, resolution=72)
    assert list(tmp_path.iterdir()) == []


def test_a_model_without_clones_is_refused(model_cache_dir: Path, tmp_path: Path) -> None:
    spec = dataclasses.replace(CATALOG["tiny-sdxl"], supports_clones=False)
    with pytest.raises(ValueError, match="does not support clones"):
        train_lora(spec, training_photos(count=1), "sks", 1, tmp_path / "x", seed=0, **FAST)


def test_the_older_model_setting_trains_the_sd1_entry(
    model_cache_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "legacy.safetensors"
    train_lora(
        "tiny", training_photos(count=2), "sks", 1, path, seed=0, cache_dir=model_cache_dir, **FAST
    )
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    assert (metadata["family"], metadata["base_model"]) == ("SD1", "tiny-sd")
