"""DreamBooth-style LoRA fine-tuning of a catalog model's denoiser: the training core of clones.

Given a handful of prepared photos (``neurall.clones.uploads``) and a trigger word, LoRA
matrices are trained on the denoiser's attention projections (the UNet of SD 1.x and SDXL,
FLUX's transformer) so that "a photo of <trigger> person" denoises towards those photos;
everything else (VAE, text encoders, base weights) stays frozen. This is DreamBooth without
prior preservation, the common recipe for few-image LoRA clones. What differs between
families (conditioning, LoRA targets, the loss) is in ``neurall.gpu.training_families``.

The model is loaded fresh for every run, never taken from the inference ``Pipeline``: an
adapter attached for training would change what concurrent generations compute. The result
is saved as ``get_peft_model_state_dict(denoiser)`` in safetensors with the LoRA alpha, the
family and the base model's id in its metadata, exactly what ``neurall.gpu.adapters`` loads
(and refuses for a model of another family), and only once training has finished: the file
appears atomically (temporary file, fsync, rename) or not at all.

Runs are deterministic for a given seed on a given device: the LoRA initialisation draws
from a forked global RNG and every other random number (image order, noise, timesteps) from
one CPU generator, like the generation side draws its starting noise.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from neurall.gpu import dreambooth
from neurall.gpu.adapters import BASE_MODEL_KEY, FAMILY_KEY
from neurall.gpu.catalog import ModelSpec
from neurall.gpu.pipeline import spec_for
from neurall.gpu.training_families import recipe_for
from neurall.gpu.types import InferenceCanceled

logger = logging.getLogger(__name__)

DEFAULT_PROMPT_TEMPLATE = "a photo of {trigger} person"
ADAPTER_FORMAT = "neurall-lora/1"
# Gradient clipping keeps a bad batch from blowing up a few-step run.
MAX_GRAD_NORM = 1.0
WEIGHT_DECAY = 1e-2

# on_step(step, total_steps, loss): step is 1-based, called after each optimiser step.
TrainingStepCallback = Callable[[int, int, float], None]


class TrainingCanceled(InferenceCanceled):
    """``should_cancel`` returned True; training stopped between steps and nothing was saved."""


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """Loss of the last step and of every step, in order."""

    final_loss: float
    losses: list[float] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"TrainingResult(steps={len(self.losses)}, final_loss={self.final_loss:.4f})"


def instance_prompt(trigger_word: str, template: str = DEFAULT_PROMPT_TEMPLATE) -> str:
    """The prompt the clone is trained on; generations use the trigger word the same way."""
    trigger = trigger_word.strip()
    if not trigger:
        raise ValueError("trigger_word must not be empty")
    return template.format(trigger=trigger)


def train_lora(
    model: ModelSpec | str | Path,
    images: list[bytes],
    trigger_word: str,
    steps: int,
    output_path: Path,
    *,
    seed: int,
    resolution: int,
    learning_rate: float = 1e-4,
    rank: int = 4,
    lora_alpha: float | None = None,
    batch_size: int = 1,
    prompt_template: str = DEFAULT_PROMPT_TEMPLATE,
    cache_dir: Path | None = None,
    device: str | None = None,
    dtype: torch.dtype | None = None,
    gradient_checkpointing: bool = False,
    on_step: TrainingStepCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TrainingResult:
    """Fine-tune a LoRA of ``model`` on ``images`` (PNG/JPEG/WebP bytes), save it to
    ``output_path``.

    ``model`` is a catalog entry (its family decides how it is trained; a built-in source is
    built under ``cache_dir``), or the older one-model setting: "tiny" or an SD 1.x
    directory or hub id (see ``neurall.gpu.pipeline.spec_for``). ``resolution`` must be a
    multiple of the entry's ``size_multiple``. ``lora_alpha`` defaults to ``rank`` (scale
    1). The frozen weights use ``dtype`` (default: on CUDA float16, bfloat16 for FLUX; else
    float32); the LoRA weights are float32. ``gradient_checkpointing`` trades time for the
    denoiser's activation memory (same result). ``on_step`` and ``should_cancel`` run on this
    thread between steps; cancellation raises ``TrainingCanceled`` and leaves no file. Any
    failure leaves ``output_path`` untouched.
    """
    spec = spec_for(model if isinstance(model, ModelSpec) else str(model))
    if not spec.supports_clones:
        raise ValueError(f"model {spec.id} does not support clones")
    recipe = recipe_for(spec)
    if steps <= 0 or batch_size <= 0 or rank <= 0:
        raise ValueError("steps, batch_size and rank must be positive")
    if resolution <= 0 or resolution % spec.size_multiple:
        raise ValueError(f"resolution must be a positive multiple of {spec.size_multiple}")
    if not images:
        raise ValueError("at least one image is needed")
    alpha = float(rank if lora_alpha is None else lora_alpha)
    prompt = instance_prompt(trigger_word, prompt_template)
    pixels = dreambooth.pixels(images, resolution)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.monotonic()
    if dtype is None:
        dtype = recipe.default_dtype(device)
    if should_cancel is not None and should_cancel():
        raise TrainingCanceled  # before the load, which takes a while for a real model
    parts = recipe.load(dreambooth.source(spec, cache_dir), device, dtype, cache_dir)
    try:
        recipe.check(parts)
        # The denoiser is only reached through parts, so that clearing them frees it.
        rng_devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(seed)
            params = dreambooth.add_lora(parts[recipe.denoiser], rank, alpha, recipe.targets)
        if gradient_checkpointing:
            parts[recipe.denoiser].enable_gradient_checkpointing()
        generator = torch.Generator(device="cpu").manual_seed(seed)
        condition = recipe.encode_prompt(parts, prompt, resolution, device)
        latent_mean, latent_std = dreambooth.encode_images(parts["vae"], pixels, device)
        # The prompt and the photos are encoded once: the encoders' memory goes back now
        # (FLUX's T5 alone is some 10 GB).
        for name in [n for n in parts if n not in recipe.keep]:
            del parts[name]
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=WEIGHT_DECAY)
        losses: list[float] = []
        batches = dreambooth.batches(len(images), batch_size, generator)
        for step in range(1, steps + 1):
            if should_cancel is not None and should_cancel():
                raise TrainingCanceled
            indices = next(batches)
            loss = recipe.loss(
                parts, condition, latent_mean[indices], latent_std[indices], generator
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]):
                raise RuntimeError(f"training diverged at step {step} (loss is not finite)")
            if on_step is not None:
                on_step(step, steps, losses[-1])
        metadata = {
            "format": ADAPTER_FORMAT,
            # neurall.gpu.adapters reads the LoRA scale from here (diffusers' key and layout).
            "lora_adapter_metadata": json.dumps(
                {"r": rank, "lora_alpha": alpha, "target_modules": list(recipe.targets)}
            ),
            "lora_alpha": str(alpha),
            # neurall.gpu.adapters refuses the adapter on a model of another family.
            FAMILY_KEY: str(spec.family),
            BASE_MODEL_KEY: spec.id,
            "resolution": str(resolution),
            "steps": str(steps),
        }
        save_adapter(parts[recipe.denoiser], Path(output_path), metadata)
    finally:
        # Free the copy now: on a GPU shared with inference, memory matters.
        parts.clear()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    logger.info(
        "trained LoRA of %s (%s) rank=%d steps=%d images=%d %dpx final_loss=%.4f in %.1fs",
        spec.id,
        spec.family,
        rank,
        steps,
        len(images),
        resolution,
        losses[-1],
        time.monotonic() - started,
    )
    return TrainingResult(final_loss=losses[-1], losses=losses)


def save_adapter(denoiser: Any, output_path: Path, metadata: dict[str, str]) -> None:
    """Write the denoiser's LoRA tensors as safetensors, atomically: the old file or the new
    one."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    state = {
        key: tensor.detach().to("cpu", torch.float32).contiguous()
        for key, tensor in get_peft_model_state_dict(denoiser).items()
    }
    output_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{output_path.name}.", suffix=".tmp", dir=output_path.parent
    )
    os.close(handle)
    try:
        save_file(state, temporary, metadata=metadata)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, output_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
