"""Plain data shared by the pipeline, the backends and their callers.

Nothing here imports torch, diffusers or tritonclient, so the API server and the workers can
use these types without loading the inference stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The built-in model (random weights, built locally; see neurall.gpu.tiny).
TINY_MODEL = "tiny"


def native_size(model: str) -> int:
    """The side the model was trained at: 64 for the tiny model, 512 for SD-family ones
    (what unset widths, heights and training resolutions default to)."""
    return 64 if model == TINY_MODEL else 512


# Fields the worker fills in at run time, from this deployment's state rather than from
# the caller: they travel to the pipeline (Triton tensors) but are never stored with a job.
RUN_FIELD = {"run": True}


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """The one record of a generation request, from the API down to the pipeline.

    GraphQL converts its input to this record once (neurall.generation.params.validate);
    the stored JSON of a playground job (or an API job's payload) and the Triton tensors are
    derived from its fields by one codec each (neurall.gpu.codec, neurall.gpu.protocol), so
    a new parameter is added here, in the GraphQL input and in the pipeline call only.

    Image ``i`` of a request is seeded with ``seed + i``, so a request's output depends only on
    its own fields, never on which other requests it was batched with.
    """

    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    num_images: int
    # The caller's trained clone to generate with (an id); None means the base model.
    clone_id: str | None = None
    # That clone's LoRA adapter (safetensors): its key in this deployment's store, set by the
    # worker; the inference process fetches it (neurall.gpu.adapter_files).
    adapter_key: str | None = field(default=None, metadata=RUN_FIELD)
    # Send a low-resolution preview every N steps (the server's setting); 0 disables them.
    preview_every: int = field(default=0, metadata=RUN_FIELD)

    def __post_init__(self) -> None:
        # Validation belongs to the API layer (server bounds); these checks only keep a
        # malformed request from reaching the pipeline, where the error would be obscure.
        if self.width <= 0 or self.height <= 0 or self.width % 8 or self.height % 8:
            raise ValueError("width and height must be positive multiples of 8")
        if self.steps <= 0:
            raise ValueError("steps must be positive")
        if self.num_images <= 0:
            raise ValueError("num_images must be positive")
        if self.preview_every < 0:
            raise ValueError("preview_every must not be negative")
        if not 0 <= self.seed < 2**63:
            raise ValueError("seed must be in [0, 2**63)")

    def __repr__(self) -> str:
        # Prompts of API jobs must never reach logs; a repr() in a log line or a traceback
        # would leak them, so the default dataclass repr is replaced.
        return (
            f"GenerationRequest({self.width}x{self.height}, steps={self.steps}, "
            f"guidance_scale={self.guidance_scale}, num_images={self.num_images}, "
            f"adapter={'yes' if self.clone_id or self.adapter_key else 'no'}, "
            f"preview_every={self.preview_every})"
        )


@dataclass(frozen=True, slots=True)
class StepProgress:
    """Denoising step ``step`` (1-based) of ``total_steps`` has finished."""

    step: int
    total_steps: int
    # A small PNG of the partly denoised image(s) when a preview was due at this step; a
    # request with several images gets them side by side in one strip.
    preview_png: bytes | None = None

    def __repr__(self) -> str:
        preview = f"{len(self.preview_png)} bytes" if self.preview_png else "none"
        return f"StepProgress({self.step}/{self.total_steps}, preview={preview})"


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The finished images, PNG-encoded, one per requested image, in seed order."""

    images: list[bytes] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"GenerationResult({len(self.images)} images)"


class InferenceError(Exception):
    """Inference failed and retrying the same request will fail again."""


class InferenceUnavailable(InferenceError):
    """The inference server is down, unreachable or timed out; callers retry with backoff."""


class InferenceCanceled(Exception):
    """The caller asked to stop; the work was abandoned between denoising steps."""
