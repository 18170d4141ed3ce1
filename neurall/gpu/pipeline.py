"""One catalog model's diffusers pipeline, run on batches of compatible requests.

The family (neurall.gpu.families) decides how it is loaded, which pipelines serve the image
modes, what the call takes, and where LoRA adapters attach.

Every request's output depends only on its own fields (prompt, seed, size, ...), never on the
other requests in its batch: each image's starting noise comes from its own CPU generator
seeded with ``seed + i``, and ``invariance.make_batch_invariant`` removes the batch-size
dependence of the kernels themselves (see that module for what was measured).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurall.gpu import families
from neurall.gpu.adapter_files import AdapterFiles
from neurall.gpu.adapters import AdapterCache
from neurall.gpu.catalog import ModelSpec, catalog_for
from neurall.gpu.images import latent_preview_png
from neurall.gpu.invariance import make_batch_invariant
from neurall.gpu.loading import MODEL_LOAD_LOCK
from neurall.gpu.modes import KEEP, call_strength, effective_mode, finish, image_arguments, kept
from neurall.gpu.optimization import Optimization
from neurall.gpu.optimize import OptimizedPipeline, apply, warm_up
from neurall.gpu.safety import SafetyChecker, screened_results
from neurall.gpu.schedulers import build_scheduler
from neurall.gpu.tiny import build_builtin
from neurall.gpu.types import (
    IMAGE_TO_IMAGE,
    TINY_MODEL,
    GenerationRequest,
    GenerationResult,
    InferenceCanceled,
    InferenceError,
)

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


def spec_for(model: ModelSpec | str) -> ModelSpec:
    """``model`` as a catalog entry: a string is the older one-model setting ("tiny", or an
    SD 1.x hub id or path), which is the built-in catalog's default entry."""
    if isinstance(model, ModelSpec):
        return model
    return catalog_for(None, model).default


def module_bytes(pipe: Any) -> int:
    """Bytes of every parameter and buffer of ``pipe``'s torch modules (each counted once)."""
    seen: set[int] = set()
    total = 0
    for component in pipe.components.values():
        if not isinstance(component, torch.nn.Module):
            continue
        for tensor in (*component.parameters(), *component.buffers()):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


class Pipeline:
    """A loaded diffusers pipeline of one catalog model; ``run`` is serialised by one lock."""

    def __init__(
        self,
        pipe: Any,
        *,
        spec: ModelSpec | None = None,
        adapter_cache_size: int = 4,
        safety: SafetyChecker | None = None,
        adapter_files: AdapterFiles | None = None,
    ) -> None:
        self._pipe = pipe
        self.spec = spec_for(TINY_MODEL) if spec is None else spec
        self._safety = safety
        self._lock = threading.Lock()
        pipe.set_progress_bar_config(disable=True)
        _install_log_filter(pipe)
        make_batch_invariant(pipe)
        self._adapters = AdapterCache(
            families.denoiser(pipe), adapter_cache_size, adapter_files, family=self.spec.family
        )
        # The model's own scheduler: every call's scheduler is built from its config.
        self._default_scheduler = pipe.scheduler
        # Image-to-image and inpainting pipelines, built on first use from pipe's components.
        self._mode_pipes: dict[str, Any] = {}
        self.calls = 0  # pipeline calls (batches) so far; read by stats and tests
        # What the model occupies where it runs, measured at load (ModelPool's budget).
        self.memory_bytes = module_bytes(pipe)
        self.optimized: OptimizedPipeline | None = None  # see optimize()
        self.warmup_s = 0.0

    @classmethod
    def load(
        cls,
        model: ModelSpec | str = TINY_MODEL,
        cache_dir: Path | None = None,
        *,
        device: str | None = None,
        adapter_cache_size: int = 4,
        safety_checker: str = "",
        safety_policy: str = "blur",
        adapter_files: AdapterFiles | None = None,
        optimization: Optimization | None = None,
    ) -> Pipeline:
        """Load the catalog entry ``model`` (a built-in source is built under ``cache_dir``;
        a string: see ``spec_for``), and the safety checker at ``safety_checker`` when set
        and the entry asks for it (see neurall.gpu.safety); clone adapters are found through
        ``adapter_files`` (none: requests with one fail). With ``optimization`` the pipeline
        is optimized and warmed up before it is returned (neurall.gpu.optimize)."""
        spec = spec_for(model)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        # fp16 halves memory and is what GPUs are fast at; CPUs lack fast fp16 kernels.
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        source: str | Path = spec.source
        if spec.builtin and cache_dir is None:
            raise ValueError("a built-in model needs a cache_dir to be built in")
        started = time.monotonic()
        on_cuda = device.startswith("cuda")
        with MODEL_LOAD_LOCK, warnings.catch_warnings():
            before = torch.cuda.memory_allocated(device) if on_cuda else 0
            if spec.builtin:
                source = build_builtin(spec.source, Path(cache_dir))  # type: ignore[arg-type]
            # Newer diffusers renamed torch_dtype to dtype; the old name works in every
            # version this project supports, the new one only in recent ones.
            warnings.simplefilter("ignore", FutureWarning)
            pipe = families.text_to_image_class(spec.family).from_pretrained(
                str(source), torch_dtype=dtype, cache_dir=str(cache_dir) if cache_dir else None
            )
            pipe.to(device)
            used = torch.cuda.memory_allocated(device) - before if on_cuda else 0
        logger.info(
            "loaded model %s (%s) on %s (%s) in %.1fs",
            spec.id,
            spec.family,
            device,
            dtype,
            time.monotonic() - started,
        )
        safety = None
        if safety_checker and spec.safety_checker:
            safety = SafetyChecker.load(
                safety_checker, safety_policy, device=device, cache_dir=cache_dir
            )
        loaded = cls(
            pipe,
            spec=spec,
            adapter_cache_size=adapter_cache_size,
            safety=safety,
            adapter_files=adapter_files,
        )
        if optimization is not None:
            loaded.optimize(optimization)
            used = torch.cuda.memory_allocated(device) - before if on_cuda else 0
        if used > 0:
            # On a GPU, what the allocator handed out (the safety checker's share included).
            loaded.memory_bytes = used
        return loaded

    def optimize(self, options: Optimization) -> float:
        """Optimize this pipeline in place (neurall.gpu.optimize: after the invariance
        patches, so that the compiled forward wraps the patched modules), then warm it up;
        returns the warm-up's seconds."""
        with self._lock:
            self.optimized = apply(self._pipe, families.denoiser(self._pipe), options)
        return self.warm_up()

    def warm_up(self) -> float:
        """Compile now, not in a user's job: one short generation per warm-up size and
        batch bucket (neurall.gpu.optimize.warm_up); returns its seconds (``warmup_s``)."""
        if self.optimized is not None:
            self.warmup_s = warm_up(self.optimized, self.spec, self.run)
        return self.warmup_s

    def release(self) -> None:
        """Drop the model's weights (the pool unloads it); the object is unusable after."""
        with self._lock:
            on_cuda = self._pipe is not None and self._pipe.device.type == "cuda"
            self._pipe = None
            self._mode_pipes.clear()
            self._adapters = None  # type: ignore[assignment]
            self._safety = None
        if on_cuda:
            torch.cuda.empty_cache()

    @property
    def device(self) -> torch.device:
        return self._pipe.device

    @staticmethod
    def compatible_key(request: GenerationRequest) -> Hashable:
        """Requests with equal keys can share one pipeline call.

        The model first: requests for different models never share a call. Mode (which
        pipeline), size, step count, guidance, scheduler and strength are per
        call in diffusers; a LoRA adapter changes the UNet's weights for the whole call, so
        requests with different adapters never mix. Anything new that is per call goes here.
        """
        return (
            request.model,
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
            pipe = families.mode_pipeline(self.spec.family, mode, self._pipe)
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
        self._check(first)
        spans: list[tuple[int, int]] = []
        for request in requests:
            start = spans[-1][1] if spans else 0
            spans.append((start, start + request.num_images))
        mode = effective_mode(first)
        if mode == KEEP:
            # No denoising step to run: the input image is the result (strength ~0).
            kept_pixels = [p for r in requests for p in kept(r)]
            return screened_results(np.stack(kept_pixels), spans, self._safety)
        family = self.spec.family
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
                latents = families.spatial_latents(
                    pipe, tensors["latents"], first.width, first.height
                )
                on_step(step, self._previews(requests, spans, step, latents))
            return {}

        with self._lock:
            if should_cancel is not None and should_cancel():
                raise InferenceCanceled
            started = time.monotonic()
            if self._pipe is None:
                raise InferenceError(f"model {self.spec.id} was unloaded")
            self._adapters.activate(first.weighted_adapters())
            pipe = self._pipe_for(mode, first.scheduler)
            arguments = image_arguments(mode, requests)
            if families.takes_negative_prompt(family):
                arguments["negative_prompt"] = negatives
            if mode == IMAGE_TO_IMAGE and families.takes_size_in_image_to_image(family):
                arguments.update(width=first.width, height=first.height)
            optimized = self.optimized
            around = optimized.call(adapters=bool(first.adapters)) if optimized else None
            with around or contextlib.nullcontext():
                output = pipe(
                    **arguments,
                    prompt=prompts,
                    num_inference_steps=first.steps,
                    guidance_scale=first.guidance_scale,
                    generator=generators,
                    output_type="np",
                    callback_on_step_end=callback,
                    callback_on_step_end_tensor_inputs=["latents"],
                )
            self.calls += 1
            logger.info(
                "pipeline call %s %s batch_size=%d images=%d %dx%d steps=%d in %.2fs",
                self.spec.id,
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

    def _check(self, request: GenerationRequest) -> None:
        """Refuse what this model cannot do (the API validates first; this keeps a stray
        request from failing obscurely inside diffusers)."""
        spec = self.spec
        if request.model != spec.id:
            raise InferenceError(f"request for model {request.model!r} sent to {spec.id!r}")
        if request.mode not in spec.modes:
            raise InferenceError(f"model {spec.id} does not support {request.mode}")
        if request.scheduler not in spec.schedulers:
            raise InferenceError(f"model {spec.id} does not support scheduler {request.scheduler}")
        multiple = spec.size_multiple
        if request.width % multiple or request.height % multiple:
            raise InferenceError(f"model {spec.id} needs sides that are multiples of {multiple}")

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
