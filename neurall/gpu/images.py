"""PNG encoding and cheap latent previews.

Both must be deterministic: same pixels, same bytes. Pillow writes no timestamp or text chunks
unless asked, so a plain save is reproducible for a given zlib.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

# Least-squares projection from Stable Diffusion 1.x latents to RGB, widely used for live
# previews (e.g. by ComfyUI): one matrix product instead of a VAE decode. For models with a
# different latent space the colours are off, but the preview still shows the composition.
_SD1_LATENT_RGB = torch.tensor(
    [
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ]
)
# Previews are thumbnails; bigger latents (e.g. SDXL's 128x128) are shrunk to this.
PREVIEW_MAX_SIDE = 64


def encode_png(image: Image.Image) -> bytes:
    """Encode without metadata so identical pixels give identical bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def encode_rgb_array(pixels: np.ndarray) -> bytes:
    """Encode an (H, W, 3) float array in [0, 1], as diffusers returns with output_type="np"."""
    quantized = (np.clip(pixels, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return encode_png(Image.fromarray(quantized))


def latent_preview_png(latents: torch.Tensor) -> bytes:
    """A small RGB preview of one request's latents (images side by side), as PNG.

    ``latents`` is (num_images, channels, h, w) at the latent resolution, i.e. 1/8 of the image.
    """
    latents = latents.detach().float().cpu()
    if latents.shape[1] == _SD1_LATENT_RGB.shape[0]:
        rgb = torch.einsum("nchw,cr->nrhw", latents, _SD1_LATENT_RGB)
    else:
        # Unknown latent space (SDXL's is close to SD's; FLUX has 16 channels, the tiny
        # one 1): show the first three channels as-is, or one as grey.
        rgb = latents[:, :3]
        if rgb.shape[1] < 3:
            rgb = rgb[:, :1].expand(-1, 3, -1, -1)
    # The projection yields roughly [-1, 1]; map to [0, 1].
    rgb = ((rgb + 1.0) / 2.0).clamp(0.0, 1.0)
    side = max(rgb.shape[-2:])
    if side > PREVIEW_MAX_SIDE:
        scale = PREVIEW_MAX_SIDE / side
        size = (max(1, round(rgb.shape[-2] * scale)), max(1, round(rgb.shape[-1] * scale)))
        rgb = torch.nn.functional.interpolate(rgb, size=size, mode="area")
    strip = torch.cat(list(rgb), dim=-1)  # (3, h, w * n)
    pixels = (strip.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    return encode_png(Image.fromarray(pixels))
