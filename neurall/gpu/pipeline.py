"""The text-to-image pipeline: one diffusers pipeline, run on batches of compatible requests.

Every request's output depends only on its own fields (prompt, seed, size, ...), never on the
other requests in its batch: each image's starting noise comes from its own CPU generator
seeded with ``seed + i``, and ``invariance.make_batch_invariant`` removes the batch-size
dependence of the kernels themselves (see that module for what was measured).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurall.gpu.adapter_files import AdapterFiles
from neurall.gpu.adapters import AdapterCache
from neurall.gpu.images import latent_preview_png
from neurall.gpu.invariance import make_batch_invariant
from neurall.gpu.loading import MODEL_LOAD_LOCK
from neurall.gpu.modes import KEEP, call_strength, effective_mode, finish, image_arguments, kept
from neurall.gpu.modes import pipeline_for as mode_pipeline
from neurall.gpu.safety import SafetyChecker, screened_results
from neurall.gpu.schedulers import build_scheduler
from neurall.gpu.tiny import build_tiny_pipeline
from neurall.gpu.types import TINY_MODEL, GenerationRequest, GenerationResult, InferenceCanceled

logger = logging.getLogger(__name__)


# on_step(step, previews): step is 1-based; previews holds, per request of the batch, a PNG
# when that request asked for a preview at this step, else None.
StepCallback = Callable[[int, list[bytes | None]], None]
CancelCheck = Callable[[], bool]


class _DropTruncationWarnings(logging.Filter):
    """diffusers logs the part of a prompt that exceeds the tokenizer's length, verbatim.

    Prompts of API jobs must never reach logs, so that record is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "truncated" not in str(record.msg)


def _install_log_filter(pipe: Any) -> None:
    # Logger filters only see records of their own logger, so every pipeline module's logger
    # gets one (encode_prompt is copied into each pipeline module).
    names = {type(pipe).__module__}
    names.update(n for n in logging.root.manager.loggerDict if n.startswith("diffusers.pipelines"))
    for name in names:
        module_logger = logging.getLogger(name)
        if not any(isinstance(f, _DropTruncationWarnings) for f in module_logger.filters):
            module_logger.addFilter(_DropTruncationWarnings())


class Pipeline:
    """A loaded diffusers text-to-image pipeline; ``run`` is serialised by one lock."""

    def __init__(
        self,
        pipe: Any,
        *,
        adapter_cache_size: int = 4,
        safety: SafetyChecker | None = None,
        adapter_files: AdapterFiles | None = None,
    ) -> None:
        self._pipe = pipe
        self._safety = safety
        self._lock = threading.Lock()
        pipe.set_progress_bar_config(disable=True)
        _install_log_filter(pipe)
        make_batch_invariant(pipe)
        self._adapters = AdapterCache(pipe.unet, adapter_cache_size, adapter_files)
        # The model's own scheduler: every call's scheduler is built from its config.
        self._default_scheduler = pipe.scheduler
        # Image-to-image and inpainting pipelines, built on first use from pipe's components.
        self._mode_pipes: dict[str, Any] = {}
        self.calls = 0  # pipeline calls (batches) so far; read by stats and tests

    @classmethod
    def load(
        cls,
        model: str = TINY_MODEL,
        cache_dir: Path | None = None,
        *,
        device: str | None = None,
        adapter_cache_size: int = 4,
        safety_checker: str = "",
        safety_policy: str = "blur",
        adapter_files: AdapterFiles | None = None,
    ) -> Pipeline:
        """Load ``model`` (hub id, local path, or "tiny", built under ``cache_dir``), and
        the safety checker at ``safety_checker`` when set (see neurall.gpu.safety); clone
        adapters are found through ``adapter_files`` (none: requests with one fail)."""
        from diffusers import AutoPipelineForText2Image

        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        # fp16 halves memory and is what GPUs are fast at; CPUs lack fast fp16 kernels.
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        source: str | Path = model
        if model == TINY_MODEL and cache_dir is None:
            raise ValueError("the tiny model needs a cache_dir to be built in")
        started = time.monotonic()
        with MODEL_LOAD_LOCK, warnings.catch_warnings():
            if model == TINY_MODEL:
                source = build_tiny_pipeline(Path(cache_dir) / "tiny-sd")
            # Newer diffusers renamed torch_dtype to dtype; the old name works in every
            # version this project supports, the new one only in recent ones.
            warnings.simplefilter("ignore", FutureWarning)
            pipe = AutoPipelineForText2Image.from_pretrained(
                str(source), torch_dtype=dtype, cache_dir=str(cache_dir) if cache_dir else None
            )
        pipe.to(device)
        logger.info(
            "loaded model %s on %s (%s) in %.1fs", model, device, dtype, time.monotonic() - started
        )
        safety = None
        if safety_checker:
            safety = SafetyChecker.load(
                safety_checker, safety_policy, device=device, cache_dir=cache_dir
            )
        return cls(
            pipe, adapter_cache_size=adapter_cache_size, safety=safety, adapter_files=adapter_files
        )

    @property
    def device(self) -> torch.device:
        return self._pipe.device

    @staticmethod
    def compatible_key(request: GenerationRequest) -> Hashable:
        """Requests with equal keys can share one pipeline call.

        Mode (which pipeline), size, step count, guidance, scheduler and strength are per
        call in diffusers; a LoRA adapter changes the UNet's weights for the whole call, so
        requests with different adapters never mix. Anything new that is per call goes here.
        """
        return (
            effective_mode(request),
            request.width,
            request.height,
            request.steps,
            float(request.guidance_scale),
            request.scheduler,
            call_strength(request),
            request.adapter_set(),
        )

    def _pipe_for(self, mode: str, scheduler: str) -> Any:
        """The pipeline for ``mode`` with a fresh ``scheduler`` (called under the lock)."""
        if mode not in self._mode_pipes:
            pipe = mode_pipeline(mode, self._pipe)
            _install_log_filter(pipe)
            self._mode_pipes[mode] = pipe
        pipe = self._mode_pipes[mode]
        pipe.scheduler = build_scheduler(scheduler, self._default_scheduler)
        return pipe

    def run(
        self,
        requests: list[GenerationRequest],
        on_step: StepCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> list[GenerationResult]:
        """Generate ``requests`` (all with the same ``compatible_key``) in one pipeline call.

        ``on_step`` and ``should_cancel`` are called on this thread between denoising steps;
        ``InferenceCanceled`` is raised when ``should_cancel`` returns True.
        """
        if not requests:
            return []
        first = requests[0]
        key = self.compatible_key(first)
        if any(self.compatible_key(r) != key for r in requests):
            raise ValueError("requests in one pipeline call must share compatible_key")
        spans: list[tuple[int, int]] = []
        for request in requests:
            start = spans[-1][1] if spans else 0
            spans.append((start, start + request.num_images))
        mode = effective_mode(first)
        if mode == KEEP:
            # No denoising step to run: the input image is the result (strength ~0).
            kept_pixels = [p for r in requests for p in kept(r)]
            return screened_results(np.stack(kept_pixels), spans, self._safety)
        prompts: list[str] = []
        negatives: list[str] = []
        generators: list[torch.Generator] = []
        for request in requests:
            for i in range(request.num_images):
                prompts.append(request.prompt)
                # None and "" encode identically in diffusers; a list needs a str for each.
                negatives.append(request.negative_prompt or "")
                # CPU generators make the starting noise the same on every device.
                generators.append(torch.Generator(device="cpu").manual_seed(request.seed + i))

        last_step = 0

        def callback(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict:
            nonlocal last_step
            if should_cancel is not None and should_cancel():
                raise InferenceCanceled
            # Second-order schedulers call back more than once per step; report each of
            # 1..steps exactly once.
            step = (index + 1) * first.steps // max(1, pipe.num_timesteps)
            if step > last_step and on_step is not None:
                last_step = step
                on_step(step, self._previews(requests, spans, step, tensors["latents"]))
            return {}

        with self._lock:
            if should_cancel is not None and should_cancel():
                raise InferenceCanceled
            started = time.monotonic()
            self._adapters.activate(first.weighted_adapters())
            pipe = self._pipe_for(mode, first.scheduler)
            output = pipe(
                **image_arguments(mode, requests),
                prompt=prompts,
                negative_prompt=negatives,
                num_inference_steps=first.steps,
                guidance_scale=first.guidance_scale,
                generator=generators,
                output_type="np",
                callback_on_step_end=callback,
                callback_on_step_end_tensor_inputs=["latents"],
            )
            self.calls += 1
            logger.info(
                "pipeline call %s batch_size=%d images=%d %dx%d steps=%d in %.2fs",
                mode,
                len(requests),
                len(prompts),
                first.width,
                first.height,
                first.steps,
                time.monotonic() - started,
            )
        return screened_results(
            np.stack(finish(mode, requests, list(output.images))), spans, self._safety
        )

    @staticmethod
    def _previews(
        requests: list[GenerationRequest],
        spans: list[tuple[int, int]],
        step: int,
        latents: torch.Tensor,
    ) -> list[bytes | None]:
        previews: list[bytes | None] = []
        for request, (start, end) in zip(requests, spans, strict=True):
            due = request.preview_every > 0 and step % request.preview_every == 0
            previews.append(latent_preview_png(latents[start:end]) if due else None)
        return previews
