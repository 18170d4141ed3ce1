"""The built-in tiny SDXL and FLUX pipelines: random weights, small configs, CPU-fast.

Like the tiny SD 1.x model (neurall.gpu.tiny), each is built from configs where it is first
needed, saved with ``save_pretrained`` under the model cache, and marked complete; they
exercise every part of the real pipelines:

- SDXL: ``StableDiffusionXLPipeline`` with two CLIP text encoders (the second with a
  projection, whose pooled output and the size/crop "time ids" condition the UNet through
  ``addition_embed_type="text_time"``), a 4-channel VAE with 8 pixels per latent.
- FLUX: ``FluxPipeline`` with a flow-matching ``FluxTransformer2DModel`` (1 double and 1
  single block), CLIP (pooled) and T5 (sequence) text encoders, a 1-latent-channel VAE
  with 8 pixels per latent; FLUX packs 2x2 latent patches into tokens, so image sides are
  multiples of 16 (``FLUX_SIZE_MULTIPLE``).

The T5 tokenizer is a small Unigram model trained on the spot from fixed text (every
printable ASCII character appears in it, so no prompt character is unknown).
"""

from __future__ import annotations

from pathlib import Path

from neurall.gpu.tiny import (
    _SEED,
    TINY_MAX_TOKENS,
    TINY_NATIVE_SIZE,
    tiny_ddim_scheduler,
    write_char_tokenizer,
)

# FLUX packs 2x2 latent patches into one token, and latents are 1/8 of the image: sides
# must be multiples of 16 (diffusers rounds other sizes down, which would break the
# "you get the size you asked for" rule).
FLUX_SIZE_MULTIPLE = 16

_T5_TEXT = [
    "a red fox in the snow",
    "a lighthouse on a cliff, stormy sea, dramatic light",
    "the quick brown fox jumps over the lazy dog",
    "portrait of a cat wearing a hat, oil painting, highly detailed",
    # Every printable ASCII character, so that none of a prompt's is unknown.
    "".join(chr(c) for c in range(33, 127)),
]


_T5_SPECIALS = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"}


def _tiny_clip(vocab_size: int, *, with_projection: bool = False) -> object:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=TINY_MAX_TOKENS,
        projection_dim=32,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    return CLIPTextModelWithProjection(config) if with_projection else CLIPTextModel(config)


def _tiny_vae(latent_channels: int, **extra: object) -> object:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 32, 32),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=8,
        sample_size=TINY_NATIVE_SIZE,
        **extra,
    )


def build_tiny_sdxl(target: Path) -> None:
    """Build and save the tiny SDXL pipeline into ``target`` (called under MODEL_LOAD_LOCK)."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    tokenizer_dir = target / "tokenizer"
    tokenizer_dir.mkdir(parents=True)
    vocab_size = write_char_tokenizer(tokenizer_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)

    torch.manual_seed(_SEED + 1)
    unet = UNet2DConditionModel(
        sample_size=TINY_NATIVE_SIZE // 8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        # The two encoders' hidden states, concatenated (32 + 32).
        cross_attention_dim=64,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        # The pooled projection (32) and six time ids of 8 each.
        projection_class_embeddings_input_dim=32 + 6 * 8,
        norm_num_groups=32,
    )
    pipe = StableDiffusionXLPipeline(
        vae=_tiny_vae(4),
        text_encoder=_tiny_clip(vocab_size),
        text_encoder_2=_tiny_clip(vocab_size, with_projection=True),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=tiny_ddim_scheduler(),
        force_zeros_for_empty_prompt=True,
    )
    pipe.save_pretrained(target, safe_serialization=True)


def _t5_tokenizer() -> object:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5TokenizerFast

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=256, special_tokens=list(_T5_SPECIALS.values()), **{"unk_token": "<unk>"}
    )
    tokenizer.train_from_iterator(_T5_TEXT, trainer=trainer)
    return T5TokenizerFast(
        tokenizer_object=tokenizer,
        **_T5_SPECIALS,
        model_max_length=TINY_MAX_TOKENS,
        extra_ids=0,
    )


def build_tiny_flux(target: Path) -> None:
    """Build and save the tiny FLUX pipeline into ``target`` (called under MODEL_LOAD_LOCK)."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTokenizer, T5Config, T5EncoderModel

    tokenizer_dir = target / "tokenizer"
    tokenizer_dir.mkdir(parents=True)
    vocab_size = write_char_tokenizer(tokenizer_dir)
    t5_tokenizer = _t5_tokenizer()

    torch.manual_seed(_SEED + 2)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        # One latent channel, packed 2x2: four per token.
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        # FLUX.1-dev is guidance-distilled (the guidance scale is an input); schnell is not.
        guidance_embeds=True,
        axes_dims_rope=(4, 4, 8),
    )
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(t5_tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
    )
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_tiny_vae(
            1, shift_factor=0.0, scaling_factor=1.0, use_quant_conv=False, use_post_quant_conv=False
        ),
        text_encoder=_tiny_clip(vocab_size, with_projection=False),
        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        text_encoder_2=text_encoder_2,
        tokenizer_2=t5_tokenizer,
        transformer=transformer,
    )
    pipe.save_pretrained(target, safe_serialization=True)
