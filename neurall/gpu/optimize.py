"""A faster denoiser for a loaded pipeline: channels_last, fused QKV, torch.compile.

``NEURALL_PIPELINE_COMPILE`` (``neurall gpu --compile``) turns it on: ``off`` (the default
until the GPU check has measured it faster: docs/performance.md), ``on``, or ``auto`` (on
for CUDA devices, off on the CPU, where inductor's compile costs minutes and gains little).
A catalog entry's ``optimize`` overrides it for that model. What it does to a pipeline:

- attention is diffusers' default, ``F.scaled_dot_product_attention`` (torch 2), already;
- the denoiser (UNet or FLUX transformer) and the VAE in ``channels_last`` memory format;
- the denoiser's query/key/value projections fused into one matmul (unfused again for a
  call with LoRA adapters, which attach to the separate projections);
- the denoiser's forward compiled with ``torch.compile(dynamic=False)``, one graph per
  shape: the shapes are bucketed to those compiled at warm-up (the entry's ``warmup_sizes``,
  its native size by default, at ``NEURALL_PIPELINE_COMPILE_BATCHES`` images per call); a
  call whose batch fits a bucket is padded up to it (rows of a batch never mix, see
  neurall.gpu.invariance), any other shape runs eagerly rather than compiling for minutes
  in the middle of serving;
- with ``NEURALL_PIPELINE_CUDA_GRAPHS`` the compile mode is "reduce-overhead": each
  bucket's step replays as one CUDA graph (static shapes are what make that possible).

The warm-up runs at load, before the model is READY: one short generation per size and
bucket. It is what the optimizations cost: tens of seconds per bucket with inductor on a
GPU (measured by ``python -m bench gpu-check``, reported as ``warmup_s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from neurall.gpu.catalog import ModelSpec
from neurall.gpu.optimization import Optimization
from neurall.gpu.types import GenerationRequest

logger = logging.getLogger(__name__)

# Tensors of a FLUX transformer call indexed by token, not by image: never padded.
_NOT_BATCHED = frozenset({"txt_ids", "img_ids"})


@dataclass(slots=True)
class CompiledDenoiser:
    """The denoiser's forward, compiled per shape bucket and gated per call.

    Installed as the module's instance ``forward``, so ``module(...)`` still runs its hooks
    (neurall.gpu.invariance's) eagerly around it and the module tree, state dict and LoRA
    attachment points stay as they were.
    """

    eager: Callable[..., Any]
    compiled: Callable[..., Any]
    # Per shape key (a call's shape but its batch): the batch sizes compiled so far.
    buckets: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    warming: bool = False
    active: bool = True
    compiled_calls: int = 0
    eager_calls: int = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sample = args[0] if args else kwargs.get("sample", kwargs.get("hidden_states"))
        if not self.active or not isinstance(sample, torch.Tensor):
            self.eager_calls += 1
            return self.eager(*args, **kwargs)
        batch, key = sample.shape[0], _shape_key(args, kwargs)
        if self.warming:
            sizes = self.buckets.setdefault(key, [])
            if batch not in sizes:
                sizes.append(batch)
                sizes.sort()
            self.compiled_calls += 1
            return self.compiled(*args, **kwargs)
        bucket = next((b for b in self.buckets.get(key, ()) if b >= batch), None)
        if bucket is None:
            self.eager_calls += 1
            return self.eager(*args, **kwargs)
        self.compiled_calls += 1
        if bucket == batch:
            return self.compiled(*args, **kwargs)
        padded_args = tuple(_pad(a, batch, bucket) for a in args)
        padded = {k: v if k in _NOT_BATCHED else _pad(v, batch, bucket) for k, v in kwargs.items()}
        return _trim(self.compiled(*padded_args, **padded), batch)


def _shape_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Every tensor argument's shape without its first dimension (and dtype): calls with
    equal keys differ only in batch size."""
    key: list[Any] = []
    for name, value in [*enumerate(args), *sorted(kwargs.items(), key=lambda kv: kv[0])]:
        for tensor in _tensors(value):
            key.append((name, tuple(tensor.shape[1:]), tensor.dtype))
    return tuple(key)


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for k in sorted(value) for t in _tensors(value[k])]
    return []


def _pad(value: Any, batch: int, bucket: int) -> Any:
    """``value`` with its batch rows repeated (the last one) up to ``bucket`` rows."""
    if isinstance(value, dict):
        return {k: _pad(v, batch, bucket) for k, v in value.items()}
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == batch:
        extra = value[-1:].expand(bucket - batch, *value.shape[1:])
        return torch.cat([value, extra])
    return value


def _trim(output: Any, batch: int) -> Any:
    if isinstance(output, tuple):
        return (output[0][:batch], *output[1:])
    output.sample = output.sample[:batch]
    return output


class OptimizedPipeline:
    """What ``apply`` did to one pipeline, and the switch a call with adapters needs."""

    def __init__(self, pipe: Any, denoiser: torch.nn.Module, options: Optimization) -> None:
        self.options = options
        self._denoiser = denoiser
        self.fused = False
        self.gate: CompiledDenoiser | None = None
        if options.channels_last:
            for module in (denoiser, getattr(pipe, "vae", None)):
                if isinstance(module, torch.nn.Module):
                    module.to(memory_format=torch.channels_last)
        if options.fuse_qkv and hasattr(denoiser, "fuse_qkv_projections"):
            denoiser.fuse_qkv_projections()
            self.fused = True
        if options.compile:
            # One graph per (size, batch bucket); dynamo's default of 8 per function would
            # silently send the rest to eager.
            dynamo = torch._dynamo.config
            dynamo.cache_size_limit = max(dynamo.cache_size_limit, 64)
            mode = "reduce-overhead" if options.cuda_graphs else None
            eager = denoiser.forward
            # Backend "none": the buckets without torch.compile (dry runs on the CPU, where
            # tracing the denoiser alone takes tens of seconds).
            compiled = (
                eager
                if options.backend == "none"
                else torch.compile(eager, dynamic=False, backend=options.backend, mode=mode)
            )
            self.gate = CompiledDenoiser(eager=eager, compiled=compiled)
            denoiser.forward = self.gate  # type: ignore[method-assign]

    @contextmanager
    def call(self, *, adapters: bool) -> Iterator[None]:
        """Around one pipeline call: with LoRA adapters active the denoiser runs unfused
        and eagerly (the adapters live on the separate projections, and a compiled graph
        would not see them). Once any adapter has been attached, LoRA layers wrap the
        projections for good and the graphs compiled without them would recompile, for
        minutes, inside a user's job: from then on every call of this model is eager,
        until it is loaded again."""
        wrapped = getattr(self._denoiser, "_hf_peft_config_loaded", False)
        if self.gate is not None and wrapped and self.gate.active:
            logger.info("LoRA layers attached: this model's denoiser runs eagerly from now on")
            self.gate.active = False
        if not adapters:
            yield
            return
        if self.fused:
            self._denoiser.unfuse_qkv_projections()
        try:
            yield
        finally:
            if self.fused:
                self._denoiser.fuse_qkv_projections()

    @contextmanager
    def warming(self) -> Iterator[None]:
        """Calls inside compile their shapes and register them as buckets."""
        if self.gate is None:
            yield
            return
        self.gate.warming = True
        try:
            yield
        finally:
            self.gate.warming = False


def apply(pipe: Any, denoiser: torch.nn.Module, options: Optimization) -> OptimizedPipeline:
    """Optimize ``pipe`` in place (its ``denoiser``: see neurall.gpu.families)."""
    optimized = OptimizedPipeline(pipe, denoiser, options)
    logger.info("pipeline optimized: %s", options)
    return optimized


def warm_up(
    optimized: OptimizedPipeline,
    spec: ModelSpec,
    run: Callable[[list[GenerationRequest]], object],
) -> float:
    """Run one short generation per warm-up size (the entry's ``warmup_sizes``, else its
    native size) and batch bucket through ``run`` (the pipeline's), registering each shape
    as a bucket; returns the seconds it took."""
    options = optimized.options
    sizes = list(spec.warmup_sizes) or [(spec.native_width, spec.native_height)]
    started = time.monotonic()
    with optimized.warming():
        for width, height in sizes:
            for batch in options.batches:
                request = GenerationRequest(
                    prompt="warm-up", negative_prompt=None, width=width, height=height,
                    steps=options.warmup_steps, guidance_scale=spec.default_guidance,
                    seed=0, num_images=batch, model=spec.id,
                )  # fmt: skip
                run([request])
    seconds = time.monotonic() - started
    logger.info("warmed up %s (%s, batches %s) in %.1fs", spec.id, sizes, options.batches, seconds)
    return seconds
