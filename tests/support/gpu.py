"""Requests for the inference layer, draining its streams, and the small models the tests
build: a safety checker and LoRA adapters of random weights."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from neurall.gpu.adapter_files import DirectoryAdapterFiles
from neurall.gpu.types import AdapterWeight, GenerationRequest, GenerationResult, StepProgress

# Adapters for a request: one store key at weight 1, or (key, weight) pairs. A Path is a file
# on this machine; its key is its absolute path below LOCAL_FILES' root, "/".
Lora = str | Path | None | list[tuple[str | Path, float]]
LOCAL_FILES = DirectoryAdapterFiles(Path("/"))


def adapter_key(adapter: str | Path) -> str:
    """The store key of ``adapter``: a key as given, a local file as its path below "/"."""
    return str(adapter.resolve()).lstrip("/") if isinstance(adapter, Path) else adapter


def lora_fields(lora: Lora) -> dict[str, object]:
    """The record's adapter fields for ``lora`` (see ``Lora``), as the worker would fill them
    in (clone ids made up from the order)."""
    if lora is None:
        return {}
    pairs = [(lora, 1.0)] if isinstance(lora, str | Path) else lora
    return {
        "adapters": tuple(AdapterWeight(f"clone-{i}", w) for i, (_, w) in enumerate(pairs)),
        "adapter_keys": tuple(adapter_key(path) for path, _ in pairs),
    }


def make_request(*, lora: Lora = None, **overrides: object) -> GenerationRequest:
    """A small, fast request; tests override what they look at. ``lora``: see
    ``lora_fields``."""
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
    fields.update(lora_fields(lora))
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


def decode_png(png: bytes) -> np.ndarray:
    """An (H, W, 3) float image in [0, 1], as the pipeline hands images to the checker."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255.0


def build_safety_checker(directory: Path, flagged: bytes, clean: bytes) -> Path:
    """diffusers' real ``StableDiffusionSafetyChecker``, built small with random weights and
    saved with its CLIP image processor under ``directory`` (what NEURALL_SAFETY_CHECKER
    names), with one concept set so that the image ``flagged`` is flagged and ``clean`` is
    not.

    The concept is the difference of the two images' embeddings with a threshold of 0: the
    checker flags an image whose cosine with a concept exceeds its threshold, and these two
    have cosines of opposite signs with it (random CLIP weights put any two images' own
    embeddings close together, so one image's embedding would separate them too narrowly).
    Every other concept, and the "special care" ones, get a threshold no cosine reaches."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import (
        StableDiffusionSafetyChecker,
    )
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(config).eval()
    processor = CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    pixels = [(decode_png(png) * 255).round().astype(np.uint8) for png in (flagged, clean)]
    with torch.no_grad():
        clip_input = processor(pixels, return_tensors="pt").pixel_values
        embeds = checker.visual_projection(checker.vision_model(clip_input)[1])
        embeds = torch.nn.functional.normalize(embeds)
        checker.concept_embeds.data[0] = embeds[0] - embeds[1]
        checker.concept_embeds_weights.data[:] = 2.0
        checker.concept_embeds_weights.data[0] = 0.0
        checker.special_care_embeds_weights.data[:] = 2.0
    checker.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


def trained_unet(model_dir: Path, seed: int, alpha: float | None) -> Any:
    """The tiny model's UNet with a LoRA of random weights (``init_lora_weights=False``: an
    untrained adapter that visibly changes the output)."""
    import torch
    from diffusers import UNet2DConditionModel
    from peft import LoraConfig

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model_dir / "unet")
    config = LoraConfig(
        r=4, lora_alpha=alpha or 4, target_modules=LORA_TARGETS, init_lora_weights=False
    )
    unet.add_adapter(config)
    return unet


def save_adapter(model_dir: Path, path: Path, seed: int, alpha: float | None = None) -> Path:
    """What the training side does: LoRA on the UNet, then its PEFT state dict as
    safetensors (``model_dir``: the tiny model's folder)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    unet = trained_unet(model_dir, seed, alpha)
    metadata = (
        {"lora_adapter_metadata": json.dumps({"r": 4, "lora_alpha": alpha})} if alpha else None
    )
    save_file(get_peft_model_state_dict(unet), str(path), metadata=metadata)
    return path


def save_denoiser_adapter(model_dir: Path, path: Path, seed: int) -> Path:
    """A LoRA of random weights on the denoiser of the tiny model in ``model_dir``: its UNet,
    or FLUX's transformer (whose attention has the same projections), saved as training
    saves one."""
    import torch
    from diffusers import FluxTransformer2DModel, UNet2DConditionModel
    from peft import LoraConfig, get_peft_model_state_dict
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    if (model_dir / "transformer").is_dir():
        denoiser = FluxTransformer2DModel.from_pretrained(model_dir / "transformer")
    else:
        denoiser = UNet2DConditionModel.from_pretrained(model_dir / "unet")
    denoiser.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=LORA_TARGETS, init_lora_weights=False)
    )
    save_file(get_peft_model_state_dict(denoiser), str(path))
    return path


def training_photos(seed: int = 0, count: int = 4) -> list[bytes]:
    """Synthetic 64x64 clone "photos": a coloured disc on a plain background, as uploads.py
    outputs them."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:64]
    photos = []
    for _ in range(count):
        colour, background = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        cx, cy, radius = rng.integers(16, 48), rng.integers(16, 48), rng.integers(8, 20)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < radius**2
        pixels = np.where(disc[..., None], colour, background).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        photos.append(buffer.getvalue())
    return photos


def two_of_three_budget_mb(sizes: list[int]) -> float:
    """A memory budget (MB) that fits any two of three models of ``sizes`` bytes, not all."""
    return (sum(sizes) - min(sizes) / 2) / 2**20
