"""SD 1.5-, SDXL- and FLUX-shaped pipelines with random weights, built in memory.

They make noise at the speed of the real models (no model can be downloaded where Neurall is
developed, nor on the GPU machines): the real architectures from their published configs,
random weights, the tiny models' character tokenizer (and a small trained T5 tokenizer for
FLUX; a tokenizer's vocabulary size does not change the speed). Built on the device they
run on, where initialising billions of parameters takes seconds.

- SD 1.5: UNet 860M, CLIP ViT-L/14 text encoder, the SD VAE (bench/full_size_model.py saves it
  for the stacks).
- SDXL base 1.0: UNet 2.6B (transformer depths 1, 2, 10), CLIP ViT-L and OpenCLIP ViT-bigG
  text encoders, the SDXL VAE. Full size.
- FLUX.1-dev: the transformer at its real width (24 heads of 128, 3072 wide) with
  ``flux_blocks`` double- and single-stream blocks (FLUX.1 has 19 and 38; the default here,
  5 and 10, is about a quarter of its per-step cost, so that compiling and timing it fit a
  GPU run of minutes: scale the images/s by the block count), T5 with 2 of T5-XXL's 24
  layers (it runs once per call, not per step), CLIP ViT-L, FLUX's 16-channel VAE.

``tiny=True`` gives the built-in tiny models' shapes instead (the dry run on the CPU).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from neurall.gpu.tiny import assemble_pipeline, tiny_ddim_scheduler, write_char_tokenizer

CLIP_TOKENS = 77
FLUX_BLOCKS = (5, 10)


def _tokenizer_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="neurall-bench-tokenizer-"))
    write_char_tokenizer(directory, CLIP_TOKENS)
    return directory


def _clip(vocab_size: int, hidden: int, layers: int, heads: int, **extra: Any) -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=4 * hidden,
        num_hidden_layers=layers, num_attention_heads=heads,
        max_position_embeddings=CLIP_TOKENS, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        **extra,
    )  # fmt: skip
    if "projection_dim" in extra:
        return CLIPTextModelWithProjection(config)
    return CLIPTextModel(config)


def _vae(sample_size: int, latent_channels: int = 4, **extra: Any) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=latent_channels,
        sample_size=sample_size,
        **extra,
    )


def sd15(device: str, dtype: Any) -> Any:
    """A StableDiffusionPipeline shaped like SD 1.5 (native 512)."""
    import torch
    from diffusers import UNet2DConditionModel

    tokenizer_dir = _tokenizer_dir()
    with torch.device(device):
        unet = UNet2DConditionModel(
            sample_size=64,
            layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=768,
            attention_head_dim=8,
        )
        text_encoder = _clip(_vocab(tokenizer_dir), 768, 12, 12, hidden_act="quick_gelu")
        vae = _vae(512)
    return assemble_pipeline(unet, vae, text_encoder, tokenizer_dir).to(device, dtype)


def _vocab(tokenizer_dir: Path) -> int:
    import json

    return len(json.loads((tokenizer_dir / "vocab.json").read_text(encoding="utf-8")))


def sdxl(device: str, dtype: Any) -> Any:
    """A StableDiffusionXLPipeline shaped like SDXL base 1.0 (native 1024)."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    tokenizer_dir = _tokenizer_dir()
    vocab = _vocab(tokenizer_dir)
    with torch.device(device):
        unet = UNet2DConditionModel(
            sample_size=128,
            block_out_channels=(320, 640, 1280),
            layers_per_block=2,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            transformer_layers_per_block=(1, 2, 10),
            attention_head_dim=(5, 10, 20),
            cross_attention_dim=2048,
            use_linear_projection=True,
            addition_embed_type="text_time",
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816,
        )
        text_encoder = _clip(vocab, 768, 12, 12, hidden_act="quick_gelu")
        text_encoder_2 = _clip(vocab, 1280, 32, 20, hidden_act="gelu", projection_dim=1280)
        vae = _vae(1024, scaling_factor=0.13025)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
        tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet,
        scheduler=tiny_ddim_scheduler(),
    )  # fmt: skip
    return pipe.to(device, dtype)


def flux(device: str, dtype: Any, blocks: tuple[int, int] = FLUX_BLOCKS) -> Any:
    """A FluxPipeline shaped like FLUX.1-dev, with ``blocks`` (double, single) blocks."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTokenizer, T5Config, T5EncoderModel

    from neurall.gpu.tiny_families import _t5_tokenizer

    tokenizer_dir = _tokenizer_dir()
    t5_tokenizer: Any = _t5_tokenizer()
    t5_tokenizer.model_max_length = 512
    with torch.device(device):
        transformer = FluxTransformer2DModel(
            patch_size=1, in_channels=64, num_layers=blocks[0], num_single_layers=blocks[1],
            attention_head_dim=128, num_attention_heads=24, joint_attention_dim=4096,
            pooled_projection_dim=768, guidance_embeds=True, axes_dims_rope=(16, 56, 56),
        )  # fmt: skip
        text_encoder_2 = T5EncoderModel(
            T5Config(
                vocab_size=len(t5_tokenizer), d_model=4096, d_kv=64, d_ff=10240,
                num_layers=2, num_heads=64, feed_forward_proj="gated-gelu",
                decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
            )
        )  # fmt: skip
        text_encoder = _clip(_vocab(tokenizer_dir), 768, 12, 12, hidden_act="quick_gelu")
        vae = _vae(
            1024, latent_channels=16, shift_factor=0.1159, scaling_factor=0.3611,
            use_quant_conv=False, use_post_quant_conv=False,
        )  # fmt: skip
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True),
        vae=vae, text_encoder=text_encoder,
        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        text_encoder_2=text_encoder_2, tokenizer_2=t5_tokenizer, transformer=transformer,
    )  # fmt: skip
    return pipe.to(device, dtype)
