"""The generation request: server bounds, defaults, and the one validation path.

Every bad field is reported at once, by its GraphQL input path ("input.width"), and nothing
is written before validation passes: no job, no hold.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.ids import parse_id

MAX_PROMPT_CHARS = 2000
MIN_SIDE = 64
MAX_STEPS = 150
MAX_IMAGES = 8
MAX_GUIDANCE = 30.0
MAX_SEED = 2**31 - 1  # GraphQL Int is 32-bit signed
MAX_IDEMPOTENCY_KEY_CHARS = 200
DEFAULT_STEPS = 20
DEFAULT_GUIDANCE = 7.5


@dataclass(frozen=True)
class GenerateParams:
    """A validated request. Never log it: for API jobs it is the private payload."""

    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    num_images: int
    clone_id: str | None = None

    def __repr__(self) -> str:
        return f"GenerateParams({self.width}x{self.height}, steps={self.steps})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict()).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerateParams:
        return cls(**data)

    @classmethod
    def from_json(cls, raw: bytes) -> GenerateParams:
        return cls.from_dict(json.loads(raw))


@dataclass(frozen=True)
class GenerateInput:
    """What the caller sent, before defaults and bounds (all optional but the prompt)."""

    prompt: str
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = None
    num_images: int | None = 1
    clone_id: str | None = None

    def __repr__(self) -> str:
        return "GenerateInput(...)"  # the prompt must never reach a log


def default_size(settings: Settings) -> int:
    """The model's native size: 64 for the built-in tiny model, 512 for SD-family ones."""
    if settings.default_image_size:
        return settings.default_image_size
    return 64 if settings.model == "tiny" else 512


def validate(data: GenerateInput, settings: Settings) -> GenerateParams:
    """Apply defaults and check bounds; raises InvalidInputError naming every bad field."""
    bad: dict[str, str] = {}
    if not data.prompt.strip() or len(data.prompt) > MAX_PROMPT_CHARS:
        bad["input.prompt"] = f"prompt must be 1 to {MAX_PROMPT_CHARS} characters"
    if data.negative_prompt is not None and len(data.negative_prompt) > MAX_PROMPT_CHARS:
        bad["input.negativePrompt"] = f"negativePrompt is at most {MAX_PROMPT_CHARS} characters"
    size = default_size(settings)
    width = size if data.width is None else data.width
    height = size if data.height is None else data.height
    limit = settings.max_image_side
    for name, value in (("width", width), ("height", height)):
        if value % 8 or not MIN_SIDE <= value <= limit:
            bad[f"input.{name}"] = f"{name} must be a multiple of 8 from {MIN_SIDE} to {limit}"
    steps = DEFAULT_STEPS if data.steps is None else data.steps
    if not 1 <= steps <= MAX_STEPS:
        bad["input.steps"] = f"steps must be 1 to {MAX_STEPS}"
    num_images = 1 if data.num_images is None else data.num_images
    if not 1 <= num_images <= MAX_IMAGES:
        bad["input.numImages"] = f"numImages must be 1 to {MAX_IMAGES}"
    guidance = DEFAULT_GUIDANCE if data.guidance_scale is None else float(data.guidance_scale)
    if not 0.0 <= guidance <= MAX_GUIDANCE:  # also rejects NaN
        bad["input.guidanceScale"] = f"guidanceScale must be 0 to {MAX_GUIDANCE:g}"
    seed = secrets.randbelow(MAX_SEED + 1) if data.seed is None else data.seed
    if not 0 <= seed <= MAX_SEED:
        bad["input.seed"] = f"seed must be 0 to {MAX_SEED}"
    clone_id = None
    if data.clone_id is not None:
        # Only the shape here; generation.service.submit checks that it names one of the
        # caller's READY clones (neurall.clones.service.require_ready_clone), with the
        # same message, so someone else's clone is indistinguishable from none.
        parsed = parse_id(data.clone_id)
        if parsed is None:
            bad["input.cloneId"] = "cloneId must be one of your ready clones"
        else:
            clone_id = str(parsed)
    if bad:
        raise InvalidInputError("; ".join(bad.values()) + ".", sorted(bad))
    return GenerateParams(
        prompt=data.prompt,
        negative_prompt=data.negative_prompt or None,
        width=width,
        height=height,
        steps=steps,
        guidance_scale=guidance,
        seed=seed,
        num_images=num_images,
        clone_id=clone_id,
    )


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInputError(
            f"idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters.",
            ["idempotencyKey"],
        )
    return key
