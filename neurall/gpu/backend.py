"""The inference interface the workers call, and the factory that picks an implementation.

Two implementations, chosen by configuration (``NEURALL_INFERENCE_URL``): ``embedded`` runs
the pipeline in this process (EmbeddedBackend); ``grpc://host:port`` talks to the Triton server
that ``neurall gpu`` starts (TritonBackend). Callers see the same stream either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from neurall.gpu.adapter_files import AdapterFiles
from neurall.gpu.catalog import ModelSpec
from neurall.gpu.optimization import Chooser
from neurall.gpu.types import GenerationRequest, GenerationResult, StepProgress

EMBEDDED = "embedded"
DEFAULT_TIMEOUT_S = 600.0


@runtime_checkable
class InferenceBackend(Protocol):
    """Text-to-image inference with per-step progress.

    ``generate`` yields a StepProgress for every denoising step 1..steps in order, then exactly
    one GenerationResult. Closing the iterator early (``aclose()``, or leaving an ``async for``
    by break or exception) cancels the work between denoising steps. Errors are raised as
    ``InferenceUnavailable`` (transient: retry later) or ``InferenceError`` (permanent).
    """

    async def start(self) -> None:
        """Prepare for use (load the model, or open the connection)."""

    async def close(self) -> None:
        """Release everything; in-flight generations are canceled."""

    async def ready(self) -> bool:
        """Whether a generate call would be served now (for health checks)."""

    async def model_states(self) -> dict[str, str]:
        """Each catalog model's state by id: READY (loaded), LOADING or COLD (loads on its
        first request); raises InferenceUnavailable when the server cannot be asked."""

    async def model_load_seconds(self) -> dict[str, float]:
        """Seconds each model took to load when it last did, by id (a model never loaded
        there is left out); raises InferenceUnavailable when the server cannot be asked."""

    def generate(
        self, request: GenerationRequest
    ) -> AsyncIterator[StepProgress | GenerationResult]:
        """Stream progress then the result for one request."""


def make_backend(
    url: str,
    *,
    models: Iterable[ModelSpec] | None = None,
    model: str = "tiny",
    cache_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_batch_size: int = 8,
    batch_window_s: float = 0.0,
    stats_path: Path | None = None,
    device: str | None = None,
    safety_checker: str = "",
    safety_policy: str = "blur",
    adapter_files: AdapterFiles | None = None,
    memory_budget_bytes: int = 0,
    optimization: Chooser | None = None,
) -> InferenceBackend:
    """Build the backend for ``url``: "embedded" or a Triton "grpc://host:port".

    ``models`` is the catalog (a Catalog or a list of ModelSpec; the worker passes
    ``catalog_for(settings.models_file, settings.model)``); without it, the built-in catalog
    with ``model`` (the older one-model setting) as the default entry's source. ``models``,
    ``cache_dir``, ``max_batch_size``, ``batch_window_s``, ``stats_path``,
    ``device``, the safety checker, ``adapter_files`` (where clone adapters are found) and
    ``memory_budget_bytes`` (0: unlimited; see neurall.gpu.pool) and ``optimization`` (each
    entry's, see neurall.gpu.optimize) apply to the embedded
    backend (the Triton server has its own); ``timeout_s`` bounds one
    Triton generation.
    """
    if url == EMBEDDED:
        from neurall.gpu.embedded import EmbeddedBackend

        return EmbeddedBackend(
            models if models is not None else model,
            cache_dir=cache_dir,
            max_batch_size=max_batch_size,
            batch_window_s=batch_window_s,
            stats_path=stats_path,
            device=device,
            safety_checker=safety_checker,
            safety_policy=safety_policy,
            adapter_files=adapter_files,
            memory_budget_bytes=memory_budget_bytes,
            optimization=optimization,
        )
    if url.startswith("grpc://"):
        from neurall.gpu.triton_client import TritonBackend

        return TritonBackend(url, timeout_s=timeout_s)
    raise ValueError("inference url must be 'embedded' or grpc://host:port")
