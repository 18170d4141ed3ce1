"""Helpers shared by the inference tests."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neurall.gpu.adapter_files import DirectoryAdapterFiles
from neurall.gpu.triton_client import TritonBackend
from neurall.gpu.types import AdapterWeight, GenerationRequest, GenerationResult, StepProgress
from tests.s3 import S3Bucket

# Adapters for a request: one store key at weight 1, or (key, weight) pairs. A Path is a file
# on this machine; its key is its absolute path below LOCAL_FILES' root, "/".
Lora = str | Path | None | list[tuple[str | Path, float]]
LOCAL_FILES = DirectoryAdapterFiles(Path("/"))


def adapter_key(adapter: str | Path) -> str:
    """The store key of ``adapter``: a key as given, a local file as its path below "/"."""
    return str(adapter.resolve()).lstrip("/") if isinstance(adapter, Path) else adapter


def lora_fields(lora: Lora) -> dict[str, object]:
    """The record's adapter fields for ``lora`` (see ``Lora``), as the worker would fill them
    in (clone ids made up from the order)."""
    if lora is None:
        return {}
    pairs = [(lora, 1.0)] if isinstance(lora, str | Path) else lora
    return {
        "adapters": tuple(AdapterWeight(f"clone-{i}", w) for i, (_, w) in enumerate(pairs)),
        "adapter_keys": tuple(adapter_key(path) for path, _ in pairs),
    }


def make_request(*, lora: Lora = None, **overrides: object) -> GenerationRequest:
    """A small, fast request; tests override what they look at. ``lora``: see
    ``lora_fields``."""
    fields: dict[str, object] = {
        "prompt": "a red fox in the snow",
        "negative_prompt": None,
        "width": 64,
        "height": 64,
        "steps": 6,
        "guidance_scale": 7.5,
        "seed": 1234,
        "num_images": 1,
    }
    fields.update(overrides)
    fields.update(lora_fields(lora))
    return GenerationRequest(**fields)  # type: ignore[arg-type]


async def collect(
    stream: AsyncIterator[StepProgress | GenerationResult],
) -> tuple[list[StepProgress], GenerationResult]:
    """Drain a generate() stream, checking its shape: steps first, then exactly one result."""
    steps: list[StepProgress] = []
    results: list[GenerationResult] = []
    async for item in stream:
        assert not results, "nothing may follow the result"
        if isinstance(item, StepProgress):
            steps.append(item)
        else:
            results.append(item)
    assert len(results) == 1
    return steps, results[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TritonServer:
    url: str
    http_port: int
    metrics_port: int
    stats_path: Path
    log_path: Path
    # Its deployment's storage, where it fetches clone adapters from (by key).
    bucket: S3Bucket

    def store_adapter(self, path: Path) -> str:
        """Put the adapter file at ``path`` in the server's bucket; returns its key."""
        key = f"adapters/{uuid.uuid4()}.safetensors"
        self.bucket.client().upload_file(str(path), self.bucket.name, self.bucket.object_key(key))
        return key

    def stats(self) -> dict[str, object]:
        if not self.stats_path.exists():
            return {
                "pipeline_calls": 0,
                "requests": 0,
                "batch_sizes": [],
                "canceled_calls": 0,
                "busy_s": 0.0,
            }
        return json.loads(self.stats_path.read_text(encoding="utf-8"))

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")


@contextlib.asynccontextmanager
async def started_triton_client(url: str, timeout_s: float) -> AsyncIterator[TritonBackend]:
    """A started TritonBackend for ``url``, closed on exit."""
    backend = TritonBackend(url, timeout_s=timeout_s)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


SERVER_START_TIMEOUT_S = 120.0


def _model_ready(http_port: int) -> bool:
    url = f"http://127.0.0.1:{http_port}/v2/models/neurall_txt2img/ready"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_triton_server(
    model_cache_dir: Path, workdir: Path, bucket: S3Bucket, extra_args: tuple[str, ...] = ()
) -> Iterator[TritonServer]:
    """`neurall gpu` in a subprocess on free ports, as deployed on a host of its own: it
    reads clone adapters from ``bucket`` into its bounded cache (``extra_args``: more of its
    options); stopped with SIGTERM on exit."""
    from tests.stack import stop_process

    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    server = TritonServer(
        url=f"grpc://127.0.0.1:{grpc_port}",
        http_port=http_port,
        metrics_port=metrics_port,
        stats_path=workdir / "stats.json",
        log_path=workdir / "server.log",
        bucket=bucket,
    )
    command = [
        sys.executable,
        "-m",
        "neurall.cli",
        "gpu",
        "--cache-dir", str(model_cache_dir),
        "--host", "127.0.0.1",
        "--grpc-port", str(grpc_port),
        "--http-port", str(http_port),
        "--metrics-port", str(metrics_port),
        "--stats-file", str(server.stats_path),
        "--device", "cpu",
        # A wide window makes "8 concurrent requests, one batch" robust on a slow CI box.
        "--max-queue-delay-us", "100000",
        *extra_args,
    ]  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")},
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(workdir / "data"),
        **bucket.env,
    }
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _model_ready(http_port):
            if process.poll() is not None or time.monotonic() > deadline:
                log_tail = server.log_path.read_text(errors="replace")[-4000:]
                pytest.fail(f"Triton server did not become ready:\n{log_tail}", pytrace=False)
            time.sleep(0.25)
        yield server
    finally:
        stop_process(process)


def decode_png(png: bytes) -> np.ndarray:
    """An (H, W, 3) float image in [0, 1], as the pipeline hands images to the checker."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255.0


def build_safety_checker(directory: Path, flagged: bytes, clean: bytes) -> Path:
    """diffusers' real ``StableDiffusionSafetyChecker``, built small with random weights and
    saved with its CLIP image processor under ``directory`` (what NEURALL_SAFETY_CHECKER
    names), with one concept set so that the image ``flagged`` is flagged and ``clean`` is
    not.

    The concept is the difference of the two images' embeddings with a threshold of 0: the
    checker flags an image whose cosine with a concept exceeds its threshold, and these two
    have cosines of opposite signs with it (random CLIP weights put any two images' own
    embeddings close together, so one image's embedding would separate them too narrowly).
    Every other concept, and the "special care" ones, get a threshold no cosine reaches."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import (
        StableDiffusionSafetyChecker,
    )
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    checker = StableDiffusionSafetyChecker(config).eval()
    processor = CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    pixels = [(decode_png(png) * 255).round().astype(np.uint8) for png in (flagged, clean)]
    with torch.no_grad():
        clip_input = processor(pixels, return_tensors="pt").pixel_values
        embeds = checker.visual_projection(checker.vision_model(clip_input)[1])
        embeds = torch.nn.functional.normalize(embeds)
        checker.concept_embeds.data[0] = embeds[0] - embeds[1]
        checker.concept_embeds_weights.data[:] = 2.0
        checker.concept_embeds_weights.data[0] = 0.0
        checker.special_care_embeds_weights.data[:] = 2.0
    checker.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


def trained_unet(model_dir: Path, seed: int, alpha: float | None) -> Any:
    """The tiny model's UNet with a LoRA of random weights (``init_lora_weights=False``: an
    untrained adapter that visibly changes the output)."""
    import torch
    from diffusers import UNet2DConditionModel
    from peft import LoraConfig

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model_dir / "unet")
    config = LoraConfig(
        r=4, lora_alpha=alpha or 4, target_modules=LORA_TARGETS, init_lora_weights=False
    )
    unet.add_adapter(config)
    return unet


def save_adapter(model_dir: Path, path: Path, seed: int, alpha: float | None = None) -> Path:
    """What the training side does: LoRA on the UNet, then its PEFT state dict as
    safetensors (``model_dir``: the tiny model's folder)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    unet = trained_unet(model_dir, seed, alpha)
    metadata = (
        {"lora_adapter_metadata": json.dumps({"r": 4, "lora_alpha": alpha})} if alpha else None
    )
    save_file(get_peft_model_state_dict(unet), str(path), metadata=metadata)
    return path
