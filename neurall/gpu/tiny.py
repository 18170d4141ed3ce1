"""The built-in tiny Stable Diffusion pipeline: random weights, small configs, CPU-fast.

(The tiny SDXL and FLUX pipelines are in neurall.gpu.tiny_families; ``build_builtin`` builds
any of the three.)

No model can be downloaded where Neurall is developed and tested, so the default model is built
locally from configs. It produces noise-like pictures, but it exercises every part of a real
StableDiffusionPipeline (tokenizer, text encoder, UNet with cross-attention, VAE, scheduler),
so the rest of the service runs unchanged against a real model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurall.gpu.loading import MODEL_LOAD_LOCK

logger = logging.getLogger(__name__)

# The latent grid is image size / 8 (four VAE blocks), like real SD 1.x, so the same size
# rules (multiples of 8) hold for the tiny model and a real one.
TINY_NATIVE_SIZE = 64
TINY_MAX_TOKENS = 32
_SEED = 20240601
# Marks a finished build; a directory without it is a leftover of a crash and is rebuilt.
_DONE_MARKER = ".neurall-tiny-complete"


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's byte -> printable character table (from OpenAI's CLIP), so every byte is a token."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def write_char_tokenizer(directory: Path, max_tokens: int = TINY_MAX_TOKENS) -> int:
    """Write a character-level CLIP tokenizer; returns its vocabulary size.

    With no merges, CLIP's BPE splits every word into single byte-characters, the last one
    carrying the end-of-word suffix, so the vocabulary is each character with and without it.
    """
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in _bytes_to_unicode().values():
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": max_tokens,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    # Loading from files works the same in transformers 4 and 5 (their constructors differ);
    # saving back writes whatever else this version wants (tokenizer.json, special tokens).
    CLIPTokenizer.from_pretrained(directory).save_pretrained(directory)
    return len(vocab)


def tiny_ddim_scheduler() -> Any:
    """The scheduler of the built-in SD 1.x and SDXL models: SD's noise schedule, DDIM.

    DDIM with eta=0 is deterministic given the initial latents: the only randomness of a
    generation is the starting noise, which is drawn per image from its own seed.
    """
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def assemble_pipeline(unet: Any, vae: Any, text_encoder: Any, tokenizer_dir: Path) -> Any:
    """A StableDiffusionPipeline of these parts, the tokenizer in ``tokenizer_dir``, and the
    scheduler every built-in model uses."""
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTokenizer

    scheduler = tiny_ddim_scheduler()
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _build(target: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer_dir = target / "tokenizer"
    tokenizer_dir.mkdir(parents=True)
    vocab_size = write_char_tokenizer(tokenizer_dir)

    # Weights are random but must be the same on every machine and every build, so that two
    # hosts (or the embedded backend and the Triton server) produce identical images.
    torch.manual_seed(_SEED)
    unet = UNet2DConditionModel(
        sample_size=TINY_NATIVE_SIZE // 8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=TINY_NATIVE_SIZE,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=TINY_MAX_TOKENS,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    pipe = assemble_pipeline(unet, vae, text_encoder, tokenizer_dir)
    pipe.save_pretrained(target, safe_serialization=True)


# The built-in models' directories under the model cache, by catalog source.
BUILTIN_DIRS = {
    "builtin:tiny-sd": "tiny-sd",
    "builtin:tiny-sdxl": "tiny-sdxl",
    "builtin:tiny-flux": "tiny-flux",
}


def _builder(source: str) -> Callable[[Path], None]:
    if source == "builtin:tiny-sd":
        return _build
    from neurall.gpu import tiny_families

    if source == "builtin:tiny-sdxl":
        return tiny_families.build_tiny_sdxl
    if source == "builtin:tiny-flux":
        return tiny_families.build_tiny_flux
    raise ValueError(f"no built-in model {source!r}")


def build_builtin(source: str, cache_dir: Path) -> Path:
    """The directory of built-in model ``source`` (e.g. "builtin:tiny-sdxl") under
    ``cache_dir``, built there first unless a complete build is already there."""
    if source not in BUILTIN_DIRS:
        raise ValueError(f"no built-in model {source!r}")
    return build_tiny_pipeline(Path(cache_dir) / BUILTIN_DIRS[source], source)


def build_tiny_pipeline(path: Path, source: str = "builtin:tiny-sd") -> Path:
    """Build the tiny pipeline ``source`` (the SD 1.x one by default) into ``path`` unless a
    complete build is already there.

    The build goes to a sibling temporary directory that is renamed into place, so a crash or a
    concurrent builder never leaves a half-written model at ``path``.
    """
    path = Path(path)
    if (path / _DONE_MARKER).is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        logger.info("building the tiny pipeline %s into %s", source, path)
        with MODEL_LOAD_LOCK:
            _builder(source)(staging / "model")
            (staging / "model" / _DONE_MARKER).write_text("ok\n", encoding="utf-8")
        if path.exists() and not (path / _DONE_MARKER).is_file():
            # A leftover without the marker predates atomic builds or was hand-edited.
            shutil.rmtree(path)
        try:
            os.rename(staging / "model", path)
        except OSError:
            # Another process finished first (rename onto a non-empty directory fails);
            # its build is identical, so use it.
            if not (path / _DONE_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
