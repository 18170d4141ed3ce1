"""How a clone is trained on each model family: a recipe per family for ``train_lora``.

A recipe names what differs between families, the rest of training being the same
(neurall.gpu.training, with the shared pieces in neurall.gpu.dreambooth):

- SD 1.x: the UNet's noise (or velocity) prediction, conditioned on one CLIP text encoder's
  hidden states; LoRA on the UNet's attention projections.
- SDXL: the same loss; the UNet is conditioned on both text encoders' hidden states
  (concatenated), the second one's pooled projection and the size "time ids" (original size,
  crop top-left (0, 0), target size), all computed by the pipeline's own ``encode_prompt``
  and ``_get_add_time_ids`` as at inference; LoRA on the UNet's attention projections.
- FLUX: flow matching on the transformer. For t in (0, 1) (logit-normal: the sigmoid of a
  standard normal, which favours the middle of the path), x_t = (1 - t) x0 + t noise and the
  transformer predicts the velocity noise - x0, on latents packed as 2x2-patch tokens with
  the image and text position ids the pipeline computes; transformers with a guidance
  embedding (FLUX.1-dev) are given the entry's default guidance, as generations are. LoRA on
  the attention projections of every block: image stream (``to_q/to_k/to_v/to_out.0``; the
  single blocks have no ``to_out``) and text stream of the joint blocks
  (``add_q_proj/add_k_proj/add_v_proj/to_add_out``).

SDXL and FLUX load their whole text-to-image pipeline (a private copy) to reuse its prompt
encoding; what only encoding needs (text encoders, VAE, the pipeline) is dropped before the
first step, since the prompt and the photos are encoded once.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from neurall.gpu import dreambooth, families
from neurall.gpu.catalog import ModelFamily, ModelSpec
from neurall.gpu.loading import MODEL_LOAD_LOCK

FLUX_LORA_TARGET_MODULES = (
    "to_k",
    "to_q",
    "to_v",
    "to_out.0",
    "add_k_proj",
    "add_q_proj",
    "add_v_proj",
    "to_add_out",
)
# What FluxPipeline pads T5 prompts to when called without max_sequence_length, as
# generations are (neurall.gpu.pipeline).
FLUX_MAX_SEQUENCE_LENGTH = 512


class Recipe:
    """SD 1.x's recipe; the other families' derive from it."""

    family = ModelFamily.SD1
    denoiser = "unet"
    targets: tuple[str, ...] = dreambooth.LORA_TARGET_MODULES
    # The parts the loss needs; the others are dropped once the inputs are encoded.
    keep: tuple[str, ...] = ("unet", "scheduler")

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def default_dtype(self, device: str) -> torch.dtype:
        # fp16 on GPUs, as for inference; CPUs lack fast fp16 kernels.
        return torch.float16 if device.startswith("cuda") else torch.float32

    def load(
        self, src: str, device: str, dtype: torch.dtype, cache_dir: Path | None
    ) -> dict[str, Any]:
        return dreambooth.load(src, device, dtype, cache_dir)

    def check(self, parts: dict[str, Any]) -> None:
        """Refuse a model that is not of this family after all."""
        dreambooth.check_supported(parts)

    def encode_prompt(
        self, parts: dict[str, Any], prompt: str, resolution: int, device: str
    ) -> dict[str, Any]:
        """The denoiser's conditioning on ``prompt``, for one row."""
        return {"encoder_hidden_states": dreambooth.encode_prompt(parts, prompt, device)}

    def loss(
        self,
        parts: dict[str, Any],
        condition: dict[str, Any],
        mean: torch.Tensor,
        std: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        return dreambooth.step(parts, condition, mean, std, generator)


def _load_pipeline(
    family: ModelFamily, src: str, device: str, dtype: torch.dtype, cache_dir: Path | None
) -> dict[str, Any]:
    """A private, frozen copy of ``family``'s text-to-image pipeline; its components and the
    pipeline itself (``"pipe"``) as parts."""
    with MODEL_LOAD_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch_dtype vs dtype, see pipeline.py
        pipe = families.text_to_image_class(family).from_pretrained(
            src, torch_dtype=dtype, cache_dir=str(cache_dir) if cache_dir else None
        )
    parts: dict[str, Any] = {"pipe": pipe}
    for name, component in pipe.components.items():
        if isinstance(component, torch.nn.Module):
            component.requires_grad_(False)
            component.to(device)
            component.eval()
        parts[name] = component
    return parts


class SDXLRecipe(Recipe):
    family = ModelFamily.SDXL

    def load(
        self, src: str, device: str, dtype: torch.dtype, cache_dir: Path | None
    ) -> dict[str, Any]:
        with MODEL_LOAD_LOCK:  # diffusers' lazy names are not thread-safe (dreambooth.load)
            from diffusers import DDPMScheduler

        parts = _load_pipeline(self.family, src, device, dtype, cache_dir)
        vae = parts["vae"]
        if vae.config.get("force_upcast", False) and vae.dtype != torch.float32:
            # SDXL's VAE overflows in fp16 (its pipelines upcast it too); it only encodes.
            vae.float()
        # The training noise schedule; any SD scheduler config converts to DDPM's.
        parts["scheduler"] = DDPMScheduler.from_config(parts["scheduler"].config)
        return parts

    def check(self, parts: dict[str, Any]) -> None:
        dreambooth.check_supported(parts, "text_time")

    @torch.no_grad()
    def encode_prompt(
        self, parts: dict[str, Any], prompt: str, resolution: int, device: str
    ) -> dict[str, Any]:
        pipe = parts["pipe"]
        for tokenizer in (pipe.tokenizer, pipe.tokenizer_2):
            if tokenizer is not None:
                dreambooth.check_prompt_fits(tokenizer, prompt)
        embeds, _, pooled, _ = pipe.encode_prompt(
            prompt, device=device, num_images_per_prompt=1, do_classifier_free_guidance=False
        )
        # Trained on whole photos at the training size: generations at that size (the
        # pipeline's default ids for it) see the same conditioning.
        size = (resolution, resolution)
        time_ids = pipe._get_add_time_ids(
            size, (0, 0), size, dtype=embeds.dtype, text_encoder_projection_dim=pooled.shape[-1]
        )
        return {
            "encoder_hidden_states": embeds,
            "added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids.to(device)},
        }


class FluxRecipe(Recipe):
    family = ModelFamily.FLUX
    denoiser = "transformer"
    targets = FLUX_LORA_TARGET_MODULES
    keep = ("transformer",)

    def default_dtype(self, device: str) -> torch.dtype:
        # FLUX's activations overflow fp16; it is trained (and published) in bfloat16.
        return torch.bfloat16 if device.startswith("cuda") else torch.float32

    def load(
        self, src: str, device: str, dtype: torch.dtype, cache_dir: Path | None
    ) -> dict[str, Any]:
        return _load_pipeline(self.family, src, device, dtype, cache_dir)

    def check(self, parts: dict[str, Any]) -> None:
        """Nothing left to check: FluxPipeline's loading refused any other denoiser."""

    @torch.no_grad()
    def encode_prompt(
        self, parts: dict[str, Any], prompt: str, resolution: int, device: str
    ) -> dict[str, Any]:
        pipe = parts["pipe"]
        dreambooth.check_prompt_fits(pipe.tokenizer, prompt)
        dreambooth.check_prompt_fits(pipe.tokenizer_2, prompt, FLUX_MAX_SEQUENCE_LENGTH)
        embeds, pooled, text_ids = pipe.encode_prompt(
            prompt=prompt,
            prompt_2=None,
            device=device,
            num_images_per_prompt=1,
            max_sequence_length=FLUX_MAX_SEQUENCE_LENGTH,
        )
        return {"encoder_hidden_states": embeds, "pooled_projections": pooled, "txt_ids": text_ids}

    def loss(
        self,
        parts: dict[str, Any],
        condition: dict[str, Any],
        mean: torch.Tensor,
        std: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        with MODEL_LOAD_LOCK:  # diffusers' lazy names are not thread-safe (dreambooth.load)
            from diffusers import FluxPipeline

        transformer = parts["transformer"]
        device = mean.device
        latents, noise = dreambooth.sample_latents(mean, std, generator)
        size, channels, height, width = latents.shape
        t = torch.sigmoid(torch.randn(size, generator=generator)).to(device)
        along = t.view(size, 1, 1, 1)
        noisy = (1 - along) * latents + along * noise
        packed = FluxPipeline._pack_latents(noisy, size, channels, height, width)
        target = FluxPipeline._pack_latents(noise - latents, size, channels, height, width)
        embeds = condition["encoder_hidden_states"]
        image_ids = FluxPipeline._prepare_latent_image_ids(
            size, height // 2, width // 2, device, embeds.dtype
        )
        guidance = None
        if transformer.config.guidance_embeds:
            guidance = torch.full(
                (size,), self.spec.default_guidance, device=device, dtype=torch.float32
            )
        prediction = transformer(
            hidden_states=packed.to(transformer.dtype),
            # The pipeline passes its timesteps (sigma * 1000) divided by 1000: t itself.
            timestep=t.to(transformer.dtype),
            guidance=guidance,
            pooled_projections=dreambooth.expand(condition["pooled_projections"], size),
            encoder_hidden_states=dreambooth.expand(embeds, size),
            txt_ids=condition["txt_ids"],
            img_ids=image_ids,
            return_dict=False,
        )[0]
        return F.mse_loss(prediction.float(), target.float())


_RECIPES: dict[ModelFamily, type[Recipe]] = {
    ModelFamily.SD1: Recipe,
    ModelFamily.SDXL: SDXLRecipe,
    ModelFamily.FLUX: FluxRecipe,
}


def recipe_for(spec: ModelSpec) -> Recipe:
    return _RECIPES[spec.family](spec)
