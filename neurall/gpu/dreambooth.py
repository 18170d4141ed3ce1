"""The pieces of DreamBooth-style LoRA training that every family shares, and SD 1.x's own.

``neurall.gpu.training`` drives these (through a family's recipe,
``neurall.gpu.training_families``); they are separate so that the loop there stays short.
"Parts" is a dict of the pipeline components training needs (for SD 1.x: tokenizer,
text_encoder, vae, unet, scheduler), loaded fresh from the model directory, never shared
with inference.
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

from neurall.gpu.catalog import ModelSpec
from neurall.gpu.loading import MODEL_LOAD_LOCK
from neurall.gpu.tiny import build_builtin

# The UNet's attention projections (self- and cross-attention), SD 1.x and SDXL alike.
LORA_TARGET_MODULES = ("to_k", "to_q", "to_v", "to_out.0")


def source(spec: ModelSpec, cache_dir: Path | None) -> str:
    """Where to load ``spec``'s model from: a path or hub id as given, or a built-in, built."""
    if spec.builtin:
        if cache_dir is None:
            raise ValueError("a built-in model needs a cache_dir to be built in")
        return str(build_builtin(spec.source, Path(cache_dir)))
    return spec.source


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
    with MODEL_LOAD_LOCK:
        # diffusers resolves these names lazily, and not thread-safely: two trainings that
        # start together could otherwise find the module half imported (ImportError).
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


def check_supported(parts: dict[str, Any], addition_embed_type: str | None = None) -> None:
    """Refuse a UNet whose extra conditioning is not ``addition_embed_type`` (SD 1.x: none;
    SDXL: "text_time", the pooled text embedding and size ids) or whose prediction is not
    one the loss knows."""
    found = parts["unet"].config.get("addition_embed_type")
    if found != addition_embed_type:
        raise ValueError(
            f"the model's UNet takes {found or 'no'} added conditioning where its family's "
            f"takes {addition_embed_type or 'none'}: is its catalog entry's family right?"
        )
    prediction = parts["scheduler"].config.prediction_type
    if prediction not in ("epsilon", "v_prediction"):
        raise ValueError(f"unsupported prediction type {prediction!r}")


def add_lora(
    denoiser: Any, rank: int, alpha: float, targets: tuple[str, ...] = LORA_TARGET_MODULES
) -> list[torch.nn.Parameter]:
    """Attach a fresh LoRA adapter on ``targets`` of ``denoiser`` (a UNet or FLUX's
    transformer; draws from the global RNG); returns its parameters."""
    from peft import LoraConfig

    # Gaussian A, zero B: training starts exactly at the base model.
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        init_lora_weights="gaussian",
        target_modules=list(targets),
    )
    denoiser.add_adapter(config)
    params = [p for p in denoiser.parameters() if p.requires_grad]
    for param in params:
        # fp16 weights cannot take small Adam updates; PEFT casts activations to match.
        param.data = param.data.float()
    denoiser.train()
    return params


def check_prompt_fits(tokenizer: Any, prompt: str, max_length: int | None = None) -> None:
    """Refuse a prompt the text encoder would truncate: the trigger word could be cut off."""
    limit = tokenizer.model_max_length if max_length is None else max_length
    if len(tokenizer(prompt).input_ids) > limit:
        raise ValueError("the trigger word makes the prompt too long for this model")


@torch.no_grad()
def encode_prompt(parts: dict[str, Any], prompt: str, device: str) -> torch.Tensor:
    tokenizer = parts["tokenizer"]
    check_prompt_fits(tokenizer, prompt)
    ids = tokenizer(
        prompt,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    return parts["text_encoder"](ids.to(device))[0]


@torch.no_grad()
def encode_images(vae: Any, pixels: torch.Tensor, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's latent distribution (mean, std), scaled; sampled afresh at every step."""
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


def sample_latents(
    mean: torch.Tensor, std: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A draw of each image's latent and a noise of the same shape."""
    device = mean.device
    # Random numbers come from the CPU generator, so a seed means the same on every device.
    latents = mean + std * torch.randn(mean.shape, generator=generator).to(device)
    noise = torch.randn(mean.shape, generator=generator).to(device)
    return latents, noise


def expand(condition: Any, size: int) -> Any:
    """``condition``'s tensors (one row: the one prompt), repeated for a batch of ``size``."""
    if isinstance(condition, dict):
        return {key: expand(value, size) for key, value in condition.items()}
    return condition.expand(size, *condition.shape[1:])


def step(
    parts: dict[str, Any],
    condition: dict[str, Any],
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """The noise-prediction loss of a UNet (SD 1.x, SDXL) on one batch; ``condition`` holds
    the UNet's keyword arguments for one row (the text embedding, SDXL's added ones)."""
    unet, scheduler = parts["unet"], parts["scheduler"]
    device = mean.device
    size = mean.shape[0]
    latents, noise = sample_latents(mean, std, generator)
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
    prediction = unet(noisy.to(unet.dtype), timesteps, **expand(condition, size)).sample
    return F.mse_loss(prediction.float(), target.float())
