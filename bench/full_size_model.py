"""A Stable Diffusion 1.5-shaped pipeline with random weights, for timing on a GPU.

The overhead goal is a ratio to the pipeline's own time, so it must be measured against a
pipeline as heavy as a real one: the tiny model's step takes about a millisecond on a GPU,
and against that any service looks slow. No model can be downloaded where Neurall is
developed, so this builds SD 1.5's architecture (UNet 860M parameters, ViT-L/14-sized text
encoder, the SD VAE) from configs, with random weights and the tiny model's character
tokenizer. It makes noise, at the speed of the real model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FULL_SIZE_NATIVE = 512
_DONE_MARKER = ".neurall-full-size-complete"


def build_full_size_pipeline(path: Path) -> Path:
    """Build the pipeline into ``path`` (fp16 safetensors, about 2 GB) unless already there."""
    if (path / _DONE_MARKER).is_file():
        return path
    import torch

    from bench.real_size_models import sd15

    shutil.rmtree(path, ignore_errors=True)
    # Initialising 1B parameters is much faster on the GPU than on the CPU.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    sd15(device, torch.float16).save_pretrained(path, safe_serialization=True)
    (path / _DONE_MARKER).write_text("ok\n", encoding="utf-8")
    return path
