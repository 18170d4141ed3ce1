"""Plain data shared by the pipeline, the backends and their callers.

Nothing here imports torch, diffusers or tritonclient, so the API server and the workers can
use these types without loading the inference stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# The built-in model (random weights, built locally; see neurall.gpu.tiny): the older
# one-model setting's value (NEURALL_MODEL).
TINY_MODEL = "tiny"
# The catalog id a request names when it names none (rows stored before the catalog).
DEFAULT_MODEL = "tiny-sd"


def native_size(model: str) -> int:
    """The side the model was trained at: 64 for the tiny model, 512 for SD-family ones
    (what unset widths, heights and training resolutions default to)."""
    return 64 if model == TINY_MODEL else 512


# Fields the worker fills in at run time, from this deployment's state rather than from
# the caller: they travel to the pipeline (Triton tensors) but are never stored with a job.
RUN_FIELD = {"run": True}
# Fields holding the caller's uploaded content (input images): they travel with the request to
# the pipeline (an API job's payload, the Triton tensors) but are never kept in a playground
# job's history, and go with the payload when the job ends.
INPUT_FIELD = {"input": True}
# Fields the API layer derives from what was sent rather than takes as sent (the mode follows
# from which images were uploaded): stored and sent to the pipeline, but no input of their own.
DERIVED_FIELD = {"derived": True}

# Generation modes (the contract's GenerationMode): which diffusers pipeline runs a request.
TEXT_TO_IMAGE = "TEXT_TO_IMAGE"
IMAGE_TO_IMAGE = "IMAGE_TO_IMAGE"
INPAINT = "INPAINT"
MODES = (TEXT_TO_IMAGE, IMAGE_TO_IMAGE, INPAINT)
# Denoising schedulers (the contract's Scheduler); DEFAULT is the model's own.
SCHEDULERS = ("DEFAULT", "DDIM", "EULER", "EULER_ANCESTRAL", "DPM_PP_2M", "UNIPC")

# Most clones one request may blend, and the range of each one's weight.
MAX_ADAPTERS = 4
MAX_ADAPTER_WEIGHT = 2.0


@dataclass(frozen=True, slots=True)
class AdapterWeight:
    """One of the caller's clones (by id) applied at ``weight`` (0 off, 1 as trained)."""

    clone_id: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.weight):
            raise ValueError("adapter weights must be finite")


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
    # The catalog entry that generates it (neurall.gpu.catalog, ModelSpec.id).
    model: str = DEFAULT_MODEL
    # The caller's trained clone to generate with (an id), as sent: the shorthand for
    # ``adapters=(AdapterWeight(clone_id, 1.0),)``, which it is expanded to.
    clone_id: str | None = None
    # The caller's clones blended into the UNet, each at its weight; empty: the base model.
    adapters: tuple[AdapterWeight, ...] = ()
    # Each of ``adapters``' LoRA weights (safetensors): its key in this deployment's store,
    # in the same order; set by the worker, which resolves the clone ids. The inference
    # process fetches them (neurall.gpu.adapter_files).
    adapter_keys: tuple[str, ...] = field(default=(), metadata=RUN_FIELD)
    # Send a low-resolution preview every N steps (the server's setting); 0 disables them.
    preview_every: int = field(default=0, metadata=RUN_FIELD)
    # TEXT_TO_IMAGE, or IMAGE_TO_IMAGE (init_image) or INPAINT (init_image and mask).
    mode: str = field(default=TEXT_TO_IMAGE, metadata=DERIVED_FIELD)
    scheduler: str = "DEFAULT"
    # With an input image: 0.0 keeps it, 1.0 ignores it (None in text-to-image).
    strength: float | None = None
    # The input image and the inpainting mask: PNG bytes, already validated, width x height.
    init_image: bytes | None = field(default=None, metadata=INPUT_FIELD)
    mask: bytes | None = field(default=None, metadata=INPUT_FIELD)

    def __post_init__(self) -> None:
        # Validation belongs to the API layer (server bounds); these checks only keep a
        # malformed request from reaching the pipeline, where the error would be obscure.
        if self.width <= 0 or self.height <= 0 or self.width % 8 or self.height % 8:
            raise ValueError("width and height must be positive multiples of 8")
        if self.steps <= 0:
            raise ValueError("steps must be positive")
        if not self.model:
            raise ValueError("model must name a catalog entry")
        if self.num_images <= 0:
            raise ValueError("num_images must be positive")
        if self.preview_every < 0:
            raise ValueError("preview_every must not be negative")
        if not 0 <= self.seed < 2**63:
            raise ValueError("seed must be in [0, 2**63)")
        if self.mode not in MODES or self.scheduler not in SCHEDULERS:
            raise ValueError("unknown mode or scheduler")
        if self.strength is not None and not 0.0 <= self.strength <= 1.0:
            raise ValueError("strength must be in [0, 1]")
        # A record read back from history has its mode but not its input images.
        if (self.mask is not None and self.mode != INPAINT) or (
            self.init_image is not None and self.mode == TEXT_TO_IMAGE
        ):
            raise ValueError("input images go with their mode only")
        if self.clone_id is not None and not self.adapters:
            # The shorthand (also how rows stored before ``adapters`` existed decode).
            object.__setattr__(self, "adapters", (AdapterWeight(self.clone_id, 1.0),))

    @property
    def needs_inputs(self) -> bool:
        """True when the request carries uploaded content (an input image) to the pipeline."""
        return self.mode != TEXT_TO_IMAGE

    def adapter_set(self) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """The adapters' keys and weights: requests that differ here never share a batch."""
        return self.adapter_keys, tuple(float(a.weight) for a in self.adapters)

    def weighted_adapters(self) -> tuple[tuple[str, float], ...]:
        """(store key, weight) of each adapter, as the pipeline applies them."""
        if len(self.adapter_keys) != len(self.adapters):
            raise InferenceError("the request's adapters were not resolved to stored weights")
        weights = (float(a.weight) for a in self.adapters)
        return tuple(zip(self.adapter_keys, weights, strict=True))

    def __repr__(self) -> str:
        # Prompts of API jobs must never reach logs; a repr() in a log line or a traceback
        # would leak them, so the default dataclass repr is replaced.
        return (
            f"GenerationRequest({self.model}, {self.width}x{self.height}, steps={self.steps}, "
            f"guidance_scale={self.guidance_scale}, num_images={self.num_images}, "
            f"adapters={len(self.adapters)}, "
            f"preview_every={self.preview_every}, mode={self.mode}, "
            f"scheduler={self.scheduler}, strength={self.strength})"
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
    """The finished images, PNG-encoded, one per requested image, in seed order; an empty
    one where the safety checker withheld the image (policy "drop")."""

    images: list[bytes] = field(default_factory=list)
    # Per image: whether the safety checker flagged it (what was done to it follows the
    # policy). Empty means none was.
    flagged: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.flagged and len(self.flagged) != len(self.images):
            raise ValueError("flagged must have one entry per image")
        if not any(self.flagged):
            # One form for "none flagged", so results compare equal across backends.
            object.__setattr__(self, "flagged", [])

    def entries(self) -> list[tuple[int, bytes, bool]]:
        """(index, PNG, flagged) of each delivered image; image ``index`` was seeded with
        ``seed + index``."""
        flagged = self.flagged or [False] * len(self.images)
        return [
            (index, png, flag)
            for index, (png, flag) in enumerate(zip(self.images, flagged, strict=True))
            if png
        ]

    def __repr__(self) -> str:
        return (
            f"GenerationResult({len(self.entries())} of {len(self.images)} images, "
            f"{sum(self.flagged)} flagged)"
        )


class InferenceError(Exception):
    """Inference failed and retrying the same request will fail again."""


class InferenceUnavailable(InferenceError):
    """The inference server is down, unreachable or timed out; callers retry with backoff."""


class InferenceCanceled(Exception):
    """The caller asked to stop; the work was abandoned between denoising steps."""
