"""Which diffusers pipeline runs a request, and the image arguments it takes.

Text-to-image, image-to-image and inpainting pipelines share the loaded components (UNet,
VAE, text encoder): each family's pipeline class's ``from_pipe`` builds it from the loaded
text-to-image pipeline without copying weights (neurall.gpu.families). A 4-channel UNet
(every text-to-image model, the tiny one included) inpaints through diffusers' legacy path,
which blends the kept latents back at each step.

Two strengths are decided here rather than in diffusers, so that the contract's promise
("0.0 keeps it, 1.0 ignores it") holds exactly:
- image-to-image at strength 1.0 runs as text-to-image: diffusers would still mix a little of
  the image into the first latents (sqrt(alpha_bar_T), about 7% with SD's schedule) and spend
  the seed's generator on sampling the VAE, so the result would differ from text-to-image;
- a strength so low that no denoising step runs (steps * strength < 1, where diffusers raises)
  returns the input image itself.
Inpainting pastes the input's pixels back where the mask is black: the VAE's round trip
would otherwise blur (and, with the tiny model's random weights, scramble) the kept part.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from neurall.gpu.types import IMAGE_TO_IMAGE, INPAINT, TEXT_TO_IMAGE, GenerationRequest

# No pipeline call: the input image is the result.
KEEP = "KEEP"


def effective_mode(request: GenerationRequest) -> str:
    """The pipeline ``request`` runs through (TEXT_TO_IMAGE, IMAGE_TO_IMAGE, INPAINT or KEEP)."""
    if request.mode == TEXT_TO_IMAGE:
        return TEXT_TO_IMAGE
    strength = 1.0 if request.strength is None else request.strength
    if int(request.steps * strength) < 1:
        return KEEP
    if request.mode == IMAGE_TO_IMAGE and strength >= 1.0:
        return TEXT_TO_IMAGE
    return request.mode


def call_strength(request: GenerationRequest) -> float | None:
    """The strength the pipeline call uses (part of the batching key), None without one."""
    if effective_mode(request) in (TEXT_TO_IMAGE, KEEP):
        return None
    return 1.0 if request.strength is None else float(request.strength)


def decode_rgb(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


def decode_mask(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("L")


def image_arguments(mode: str, requests: list[GenerationRequest]) -> dict[str, Any]:
    """The pipeline call's size, image, mask and strength arguments, one image per output
    image (image-to-image takes its size from the image: it has no width and height)."""
    first = requests[0]
    if mode != IMAGE_TO_IMAGE:
        sizes = {"width": first.width, "height": first.height}
    if mode == TEXT_TO_IMAGE:
        return sizes
    images: list[Image.Image] = []
    masks: list[Image.Image] = []
    for request in requests:
        assert request.init_image is not None, "an image mode needs its input image"
        image = decode_rgb(request.init_image)
        images += [image] * request.num_images
        if mode == INPAINT:
            assert request.mask is not None, "inpainting needs its mask"
            masks += [decode_mask(request.mask)] * request.num_images
    arguments: dict[str, Any] = {"image": images, "strength": call_strength(requests[0])}
    if mode == INPAINT:
        arguments.update(sizes, mask_image=masks)
    return arguments


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255.0


def finish(
    mode: str, requests: list[GenerationRequest], pixels: list[np.ndarray]
) -> list[np.ndarray]:
    """The output images (H, W, 3 floats in [0, 1], in request order) after the call: for
    inpainting, the kept part of the input is pasted back."""
    if mode != INPAINT:
        return pixels
    out: list[np.ndarray] = []
    index = 0
    for request in requests:
        assert request.init_image is not None
        assert request.mask is not None
        original = _pixels(decode_rgb(request.init_image))
        repaint = (_pixels(decode_mask(request.mask)) >= 0.5)[..., None]
        for _ in range(request.num_images):
            out.append(np.where(repaint, pixels[index], original))
            index += 1
    return out


def kept(request: GenerationRequest) -> list[np.ndarray]:
    """A KEEP request's output: its input image, once per requested image."""
    assert request.init_image is not None
    return [_pixels(decode_rgb(request.init_image))] * request.num_images
