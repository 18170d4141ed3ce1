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

from neurall.gpu.tiny import assemble_pipeline, write_char_tokenizer

FULL_SIZE_NATIVE = 512
MAX_TOKENS = 77
_DONE_MARKER = ".neurall-full-size-complete"


def build_full_size_pipeline(path: Path) -> Path:
    """Build the pipeline into ``path`` (fp16 safetensors, about 2 GB) unless already there."""
    if (path / _DONE_MARKER).is_file():
        return path
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    shutil.rmtree(path, ignore_errors=True)
    tokenizer_dir = path / "tokenizer"
    tokenizer_dir.mkdir(parents=True)
    vocab_size = write_char_tokenizer(tokenizer_dir, MAX_TOKENS)
    # Initialising 1B parameters is much faster on the GPU than on the CPU.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        unet = UNet2DConditionModel(
            sample_size=FULL_SIZE_NATIVE // 8,
            layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=768,
            attention_head_dim=8,
        )
        vae = AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512),
            layers_per_block=2,
            latent_channels=4,
            sample_size=FULL_SIZE_NATIVE,
        )
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=vocab_size,
                hidden_size=768,
                intermediate_size=3072,
                num_hidden_layers=12,
                num_attention_heads=12,
                max_position_embeddings=MAX_TOKENS,
                hidden_act="quick_gelu",
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
            )
        )
    pipe = assemble_pipeline(unet, vae, text_encoder, tokenizer_dir)
    pipe.to(torch.float16).save_pretrained(path, safe_serialization=True)
    (path / _DONE_MARKER).write_text("ok\n", encoding="utf-8")
    return path
