"""The optional safety checker: an image classifier run on every result, and its policy.

The classifier is diffusers' ``StableDiffusionSafetyChecker`` (CLIP's vision tower, a
projection, and concept embeddings with a threshold each: an image whose embedding is closer
to a concept than its threshold is flagged), with the CLIP image processor that prepares its
input. ``load`` reads both from one directory or hub id: either a checker saved on its own
(``CompVis/stable-diffusion-safety-checker``, with its ``preprocessor_config.json``) or a
Stable Diffusion model folder holding ``safety_checker/`` and ``feature_extractor/``.

What happens to a flagged image is the server's policy:

- ``blur``: replaced by a strong Gaussian blur of itself, delivered, marked flagged;
- ``drop``: withheld (an empty PNG in the result; the worker charges nothing for it and fails
  the job when every image was withheld);
- ``flag``: delivered as generated, marked flagged.

Every backend runs this in the pipeline process (``Pipeline.run``), so the same request gives
the same bytes and flags embedded or behind Triton.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter

from neurall.gpu.images import encode_rgb_array
from neurall.gpu.types import GenerationResult

logger = logging.getLogger(__name__)

# The blur's radius as a share of the image's longer side: strong enough that nothing but
# the broad colours survive.
BLUR_RADIUS_SHARE = 1 / 12


class SafetyPolicy(StrEnum):
    BLUR = "blur"
    DROP = "drop"
    FLAG = "flag"


def _subfolder(source: str, name: str) -> dict[str, str]:
    """A model folder keeps the checker and its processor in subfolders; a checker saved on
    its own keeps both at its root."""
    return {"subfolder": name} if (Path(source) / name).is_dir() else {}


class SafetyChecker:
    """Flags images with a loaded ``StableDiffusionSafetyChecker`` and applies ``policy``."""

    def __init__(self, model: Any, processor: Any, policy: SafetyPolicy | str) -> None:
        self._model = model.eval()
        self._processor = processor
        self.policy = SafetyPolicy(policy)

    @classmethod
    def load(
        cls,
        source: str,
        policy: SafetyPolicy | str,
        *,
        device: str | torch.device = "cpu",
        cache_dir: Path | None = None,
    ) -> SafetyChecker:
        """The checker at ``source`` (a local path or hub id) on ``device``."""
        from diffusers.pipelines.stable_diffusion.safety_checker import (
            StableDiffusionSafetyChecker,
        )
        from transformers import CLIPImageProcessor

        started = time.monotonic()
        cache = str(cache_dir) if cache_dir else None
        model = StableDiffusionSafetyChecker.from_pretrained(
            source, cache_dir=cache, **_subfolder(source, "safety_checker")
        )
        processor = CLIPImageProcessor.from_pretrained(
            source, cache_dir=cache, **_subfolder(source, "feature_extractor")
        )
        model.to(device)
        logger.info(
            "loaded safety checker (policy %s) in %.1fs", policy, time.monotonic() - started
        )
        return cls(model, processor, policy)

    def flags(self, pixels: np.ndarray) -> list[bool]:
        """Whether each image of ``pixels`` ((N, H, W, 3) floats in [0, 1]) is flagged."""
        if len(pixels) == 0:
            return []
        quantized = (np.clip(pixels, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        clip_input = self._processor(list(quantized), return_tensors="pt").pixel_values
        parameter = next(self._model.parameters())
        clip_input = clip_input.to(device=parameter.device, dtype=parameter.dtype)
        # The checker blacks out flagged images in the list it is given; it gets
        # placeholders, and the policy here decides what happens to the real ones.
        placeholders = [np.zeros(1) for _ in range(len(pixels))]
        with torch.no_grad():
            _, flagged = self._model(clip_input=clip_input, images=placeholders)
        return [bool(f) for f in flagged]

    def apply(self, pixels: np.ndarray, flagged: bool) -> np.ndarray | None:
        """One image after the policy: unchanged, blurred, or None (withheld)."""
        if not flagged or self.policy == SafetyPolicy.FLAG:
            return pixels
        if self.policy == SafetyPolicy.DROP:
            return None
        return blur(pixels)


def blur(pixels: np.ndarray) -> np.ndarray:
    """A strong Gaussian blur of an (H, W, 3) float image in [0, 1]."""
    quantized = (np.clip(pixels, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    radius = max(4.0, max(quantized.shape[:2]) * BLUR_RADIUS_SHARE)
    blurred = Image.fromarray(quantized).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(blurred, dtype=np.float32) / 255.0


def screened_results(
    pixels: np.ndarray, spans: list[tuple[int, int]], checker: SafetyChecker | None
) -> list[GenerationResult]:
    """One pipeline call's images as each request's result (``spans``: its images), after
    the safety checker and its policy when one is configured."""
    if checker is None:
        images = [encode_rgb_array(image) for image in pixels]
        return [GenerationResult(images=images[start:end]) for start, end in spans]
    flags = checker.flags(pixels)
    kept = [checker.apply(image, flag) for image, flag in zip(pixels, flags, strict=True)]
    pngs = [encode_rgb_array(image) if image is not None else b"" for image in kept]
    if any(flags):
        # A count only: what was flagged says nothing a log may not hold.
        logger.info("safety checker flagged %d of %d images", sum(flags), len(flags))
    return [
        GenerationResult(images=pngs[start:end], flagged=flags[start:end]) for start, end in spans
    ]
