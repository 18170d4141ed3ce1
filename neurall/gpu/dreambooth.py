"""The pieces of DreamBooth-style LoRA training: model parts, encodings, one optimiser step.

``neurall.gpu.training`` drives these; they are separate so that the loop there stays short.
"Parts" is a dict of the pipeline components training needs (tokenizer, text_encoder, vae,
unet, scheduler), loaded fresh from the model directory, never shared with inference.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from neurall.gpu.loading import MODEL_LOAD_LOCK
from neurall.gpu.tiny import build_tiny_pipeline
from neurall.gpu.types import TINY_MODEL

LORA_TARGET_MODULES = ("to_k", "to_q", "to_v", "to_out.0")


def source(model: str | Path, cache_dir: Path | None) -> str:
    """Where to load ``model`` from: a path or hub id as given, or the tiny model, built."""
    if str(model) == TINY_MODEL:
        if cache_dir is None:
            raise ValueError("the tiny model needs a cache_dir to be built in")
        return str(build_tiny_pipeline(Path(cache_dir) / "tiny-sd"))
    return str(model)


def pixels(images: list[bytes], resolution: int) -> torch.Tensor:
    """(N, 3, R, R) in [-1, 1], as the VAE expects. Inputs are normally prepared already."""
    arrays = []
    for index, data in enumerate(images):
        try:
            with Image.open(io.BytesIO(data)) as image:
                rgb = ImageOps.fit(image.convert("RGB"), (resolution, resolution))
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"training image {index} is not a readable image") from exc
        arrays.append(np.asarray(rgb, dtype=np.float32))
    stacked = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return stacked / 127.5 - 1.0


def load(src: str, device: str, dtype: torch.dtype, cache_dir: Path | None) -> dict[str, Any]:
    """A private, frozen copy of the components training needs, on ``device``."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    common: dict[str, Any] = {"cache_dir": str(cache_dir) if cache_dir else None}
    with MODEL_LOAD_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch_dtype vs dtype, see pipeline.py
        parts: dict[str, Any] = {
            "tokenizer": CLIPTokenizer.from_pretrained(src, subfolder="tokenizer", **common),
            "text_encoder": CLIPTextModel.from_pretrained(
                src, subfolder="text_encoder", torch_dtype=dtype, **common
            ),
            "vae": AutoencoderKL.from_pretrained(src, subfolder="vae", torch_dtype=dtype, **common),
            "unet": UNet2DConditionModel.from_pretrained(
                src, subfolder="unet", torch_dtype=dtype, **common
            ),
            # The training noise schedule; any SD scheduler config converts to DDPM's.
            "scheduler": DDPMScheduler.from_pretrained(src, subfolder="scheduler", **common),
        }
    for name in ("text_encoder", "vae", "unet"):
        parts[name].requires_grad_(False)
        parts[name].to(device)
    parts["text_encoder"].eval()
    parts["vae"].eval()
    return parts


def check_supported(parts: dict[str, Any]) -> None:
    """Refuse models whose UNet needs more conditioning than a text embedding."""
    config = parts["unet"].config
    if config.get("addition_embed_type") is not None:
        # SDXL-style UNets need pooled text embeddings and size conditioning as well.
        raise ValueError("LoRA training supports Stable Diffusion 1.x/2.x-style models only")
    prediction = parts["scheduler"].config.prediction_type
    if prediction not in ("epsilon", "v_prediction"):
        raise ValueError(f"unsupported prediction type {prediction!r}")


def add_lora(unet: Any, rank: int, alpha: float) -> list[torch.nn.Parameter]:
    """Attach a fresh LoRA adapter (draws from the global RNG); returns its parameters."""
    from peft import LoraConfig

    # Gaussian A, zero B: training starts exactly at the base model.
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        init_lora_weights="gaussian",
        target_modules=list(LORA_TARGET_MODULES),
    )
    unet.add_adapter(config)
    params = [p for p in unet.parameters() if p.requires_grad]
    for param in params:
        # fp16 weights cannot take small Adam updates; PEFT casts activations to match.
        param.data = param.data.float()
    unet.train()
    return params


@torch.no_grad()
def encode_prompt(parts: dict[str, Any], prompt: str, device: str) -> torch.Tensor:
    tokenizer = parts["tokenizer"]
    if len(tokenizer(prompt).input_ids) > tokenizer.model_max_length:
        raise ValueError("the trigger word makes the prompt too long for this model")
    ids = tokenizer(
        prompt,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    return parts["text_encoder"](ids.to(device))[0]


@torch.no_grad()
def encode_images(
    parts: dict[str, Any], pixels: torch.Tensor, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's latent distribution (mean, std), scaled; sampled afresh at every step."""
    vae = parts["vae"]
    means, stds = [], []
    for image in pixels:  # one at a time: 20 images at 512 px at once is a lot of activations
        dist = vae.encode(image[None].to(device, vae.dtype)).latent_dist
        means.append(dist.mean.float())
        stds.append(dist.std.float())
    scale = float(vae.config.scaling_factor)
    shift = float(getattr(vae.config, "shift_factor", None) or 0.0)
    return (torch.cat(means) - shift) * scale, torch.cat(stds) * scale


def batches(count: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Image indices, epoch by epoch in shuffled order, so every photo is seen as often."""
    queue: list[int] = []
    while True:
        while len(queue) < batch_size:
            queue.extend(torch.randperm(count, generator=generator).tolist())
        yield torch.tensor(queue[:batch_size])
        del queue[:batch_size]


def step(
    parts: dict[str, Any],
    context: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    unet, scheduler = parts["unet"], parts["scheduler"]
    device = mean.device
    size = mean.shape[0]
    # Random numbers come from the CPU generator, so a seed means the same on every device.
    latents = mean + std * torch.randn(mean.shape, generator=generator).to(device)
    noise = torch.randn(mean.shape, generator=generator).to(device)
    # Stratified timesteps: one from each 1/size slice of the schedule, which lowers the
    # variance of small-batch losses without changing what is learned.
    total = int(scheduler.config.num_train_timesteps)
    offsets = torch.rand(size, generator=generator)
    timesteps = ((torch.arange(size) + offsets) * total / size).long().clamp(max=total - 1)
    timesteps = timesteps.to(device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    if scheduler.config.prediction_type == "v_prediction":
        target = scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    prediction = unet(
        noisy.to(unet.dtype),
        timesteps,
        encoder_hidden_states=context.expand(size, -1, -1),
    ).sample
    return F.mse_loss(prediction.float(), target.float())
