"""What differs between model families (SD 1.x, SDXL, FLUX) in diffusers, in one place.

- Loading: SD 1.x through ``AutoPipelineForText2Image`` (which also accepts the SD-shaped
  models a deployment named with NEURALL_MODEL before the catalog existed); SDXL through
  ``StableDiffusionXLPipeline``; FLUX through ``FluxPipeline``.
- Image-to-image and inpainting: each family's own pipelines built with ``from_pipe`` from the
  loaded text-to-image one, sharing its weights (SDXL: ``StableDiffusionXLImg2ImgPipeline``,
  ``StableDiffusionXLInpaintPipeline``; FLUX: ``FluxImg2ImgPipeline``,
  ``FluxInpaintPipeline``; all checked with the tiny models).
- The denoiser, which LoRA adapters attach to and the batch-invariance fixes patch: the
  UNet, or FLUX's transformer.
- The call: FLUX takes no negative prompt, and its ``guidance_scale`` is the distilled
  guidance the transformer is conditioned on (one pass per step, no classifier-free pair);
  FLUX's image-to-image takes the output size (it resizes the input to it), where SD's
  takes the input's.
- Latents seen by the step callback: FLUX's are packed (2x2 patches as tokens) and are
  unpacked for previews.
"""

from __future__ import annotations

from typing import Any

from neurall.gpu.catalog import ModelFamily
from neurall.gpu.types import IMAGE_TO_IMAGE, INPAINT, TEXT_TO_IMAGE


def text_to_image_class(family: ModelFamily) -> Any:
    """The diffusers class that loads a ``family`` model with ``from_pretrained``."""
    import diffusers

    names = {
        ModelFamily.SD1: "AutoPipelineForText2Image",
        ModelFamily.SDXL: "StableDiffusionXLPipeline",
        ModelFamily.FLUX: "FluxPipeline",
    }
    return getattr(diffusers, names[family])


_MODE_CLASSES: dict[ModelFamily, dict[str, str]] = {
    ModelFamily.SD1: {
        IMAGE_TO_IMAGE: "AutoPipelineForImage2Image",
        INPAINT: "AutoPipelineForInpainting",
    },
    ModelFamily.SDXL: {
        IMAGE_TO_IMAGE: "StableDiffusionXLImg2ImgPipeline",
        INPAINT: "StableDiffusionXLInpaintPipeline",
    },
    ModelFamily.FLUX: {
        IMAGE_TO_IMAGE: "FluxImg2ImgPipeline",
        INPAINT: "FluxInpaintPipeline",
    },
}


def mode_pipeline(family: ModelFamily, mode: str, base: Any) -> Any:
    """The pipeline for ``mode`` sharing ``base``'s components (``base`` for text-to-image)."""
    if mode == TEXT_TO_IMAGE:
        return base
    import diffusers

    pipe = getattr(diffusers, _MODE_CLASSES[family][mode]).from_pipe(base)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def denoiser(pipe: Any) -> Any:
    """The network that denoises: the UNet (SD 1.x, SDXL) or the transformer (FLUX)."""
    unet = getattr(pipe, "unet", None)
    return unet if unet is not None else pipe.transformer


def takes_negative_prompt(family: ModelFamily) -> bool:
    return family is not ModelFamily.FLUX


def takes_size_in_image_to_image(family: ModelFamily) -> bool:
    return family is ModelFamily.FLUX


def spatial_latents(pipe: Any, latents: Any, width: int, height: int) -> Any:
    """The step callback's latents as (batch, channels, h, w), whatever the family packs."""
    if latents.dim() == 3 and hasattr(type(pipe), "_unpack_latents"):
        return type(pipe)._unpack_latents(latents, height, width, pipe.vae_scale_factor)
    return latents
