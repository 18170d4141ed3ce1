"""The generation request: server bounds, defaults, and the one validation path.

Every bad field is reported at once, by its GraphQL input path ("input.width"), and nothing
is written before validation passes: no job, no hold.

Bounds and defaults are the chosen model's (its catalog entry, neurall.gpu.catalog): sizes
up to its maximum, capped by the server's ``max_image_side`` when that is lower (an
operator's limit on one job's memory and time holds for every model); unset sides default
to ``default_image_size`` when set, else to the model's native size; steps, guidance, modes
and schedulers are the entry's. FLUX models take no negative prompt: one sent to them is
refused rather than silently ignored, so nobody pays for a prompt that changed nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from neurall.clones.service import NOT_A_READY_CLONE
from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.generation import inputs
from neurall.gpu.catalog import Catalog, ModelFamily, ModelSpec, catalog_for
from neurall.gpu.types import (
    IMAGE_TO_IMAGE,
    INPAINT,
    MAX_ADAPTER_WEIGHT,
    MAX_ADAPTERS,
    TEXT_TO_IMAGE,
    AdapterWeight,
    GenerationRequest,
)
from neurall.ids import parse_id

MAX_PROMPT_CHARS = 2000
MIN_SIDE = 64
# The built-in models' most steps (each catalog entry has its own max_steps).
MAX_STEPS = 150
MAX_IMAGES = 8
MAX_GUIDANCE = 30.0
MAX_SEED = 2**31 - 1  # GraphQL Int is 32-bit signed
MAX_IDEMPOTENCY_KEY_CHARS = 200
# diffusers' defaults: image-to-image keeps a fifth of the input, inpainting repaints fully.
DEFAULT_STRENGTH = {IMAGE_TO_IMAGE: 0.8, INPAINT: 1.0}


# What a mode needs sent, so a model without that mode is refused on that field.
_MODE_FIELD = {IMAGE_TO_IMAGE: "input.initImage", INPAINT: "input.mask"}
_MODE_NAME = {IMAGE_TO_IMAGE: "image-to-image", INPAINT: "inpainting"}


def max_size(spec: ModelSpec, settings: Settings) -> tuple[int, int]:
    """The largest width and height ``spec`` accepts here: its own, capped by the server."""
    limit = settings.max_image_side
    return min(spec.max_width, limit), min(spec.max_height, limit)


def default_size(spec: ModelSpec, settings: Settings) -> tuple[int, int]:
    """Width and height when unset: the server's setting, else the model's native size
    (within the model's bounds here)."""
    max_w, max_h = max_size(spec, settings)
    side = settings.default_image_size
    width, height = (side, side) if side else (spec.native_width, spec.native_height)
    return min(width, max_w), min(height, max_h)


def _unknown_model(catalog: Catalog) -> str:
    return f"Choose one of the models: {', '.join(spec.id for spec in catalog)}."


def validate(
    sent: Mapping[str, Any], settings: Settings, catalog: Catalog | None = None
) -> GenerationRequest:
    """The request record from what the caller sent (``sent``: the record's field names, a
    missing or None value meaning "the server's default"), with defaults applied and bounds
    checked against the chosen model of ``catalog`` (None: the settings' catalog); raises
    InvalidInputError naming every bad field."""
    if catalog is None:
        catalog = catalog_for(settings.models_file, settings.model)
    prompt: str = sent["prompt"]
    negative_prompt: str | None = sent.get("negative_prompt")
    bad: dict[str, str] = {}
    if not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
        bad["input.prompt"] = f"Write a prompt of 1 to {MAX_PROMPT_CHARS:,} characters."
    if negative_prompt is not None and len(negative_prompt) > MAX_PROMPT_CHARS:
        bad["input.negativePrompt"] = (
            f"The negative prompt is at most {MAX_PROMPT_CHARS:,} characters."
        )
    spec = catalog.get(sent.get("model"))
    if spec is None:
        bad["input.model"] = _unknown_model(catalog)
        spec = catalog.default  # the other fields are still checked, against the default
    if negative_prompt is not None and not negative_prompt.strip():
        negative_prompt = None
    if negative_prompt is not None and spec.family == ModelFamily.FLUX:
        bad["input.negativePrompt"] = (
            f"{spec.name} ignores negative prompts; leave the negative prompt empty."
        )
    max_w, max_h = max_size(spec, settings)
    init_image, mask = sent.get("init_image"), sent.get("mask")
    mode = TEXT_TO_IMAGE if init_image is None else INPAINT if mask is not None else IMAGE_TO_IMAGE
    opened = None
    if init_image is not None:
        opened = inputs.open_inputs(init_image, mask, bad)
    elif mask is not None:
        bad["input.mask"] = "A mask needs an input image (inpainting repaints part of an image)."
    if mode != TEXT_TO_IMAGE and not spec.supports(mode):
        bad[_MODE_FIELD[mode]] = f"{spec.name} does not do {_MODE_NAME[mode]}."
    image_size = default_size(spec, settings)
    if opened is not None:
        # Unset sides follow the input image.
        image_size = inputs.default_size(
            opened.size, MIN_SIDE, min(max_w, max_h), spec.size_multiple
        )
    width, height = _or(sent, "width", image_size[0]), _or(sent, "height", image_size[1])
    step = spec.size_multiple
    for name, value, limit in (("width", width, max_w), ("height", height, max_h)):
        if value % step or not MIN_SIDE <= value <= limit:
            bad[f"input.{name}"] = (
                f"{name.capitalize()} must be a multiple of {step} between {MIN_SIDE} and "
                f"{limit} for this model."
            )
    steps = _or(sent, "steps", spec.default_steps)
    if not 1 <= steps <= spec.max_steps:
        bad["input.steps"] = f"Steps must be between 1 and {spec.max_steps} for this model."
    num_images = _or(sent, "num_images", 1)
    if not 1 <= num_images <= MAX_IMAGES:
        bad["input.numImages"] = f"The number of images must be between 1 and {MAX_IMAGES}."
    guidance = float(_or(sent, "guidance_scale", spec.default_guidance))
    if not 0.0 <= guidance <= MAX_GUIDANCE:  # also rejects NaN
        bad["input.guidanceScale"] = f"Guidance must be between 0 and {MAX_GUIDANCE:g}."
    seed = _or(sent, "seed", secrets.randbelow(MAX_SEED + 1))
    if not 0 <= seed <= MAX_SEED:
        bad["input.seed"] = f"The seed must be between 0 and {MAX_SEED}."
    scheduler = _or(sent, "scheduler", "DEFAULT")
    if scheduler not in spec.schedulers:
        bad["input.scheduler"] = (
            f"The scheduler must be one of {', '.join(spec.schedulers)} for this model."
        )
    strength = sent.get("strength")
    if strength is not None and mode == TEXT_TO_IMAGE:
        bad["input.strength"] = "Strength applies only with an input image."
    elif strength is not None and not 0.0 <= strength <= 1.0:  # also rejects NaN
        bad["input.strength"] = "Strength must be between 0 and 1."
    elif mode != TEXT_TO_IMAGE:
        strength = float(_or(sent, "strength", DEFAULT_STRENGTH[mode]))
    clone_id = None
    if (sent_clone := sent.get("clone_id")) is not None:
        # Only the shape here; generation.service.submit checks that it names one of the
        # caller's READY clones (neurall.clones.service.require_ready_clones), with the
        # same message, so someone else's clone is indistinguishable from none.
        parsed = parse_id(sent_clone)
        if parsed is None:
            bad["input.cloneId"] = NOT_A_READY_CLONE
        else:
            clone_id = str(parsed)
    adapters = _adapters(sent.get("adapters"), bad)
    if clone_id is not None and adapters:
        bad["input.adapters"] = "Give one clone or a blend of clones, not both."
    elif (clone_id is not None or adapters) and not spec.supports_clones:
        field = "input.cloneId" if clone_id is not None else "input.adapters"
        bad[field] = f"{spec.name} does not generate with clones."
    if bad:
        raise InvalidInputError.per_field(bad)
    init_png = mask_png = None
    if opened is not None:
        # Decoding comes last, once everything cheap has passed.
        init_png, mask_png = inputs.prepare(opened, width, height)
    return GenerationRequest(
        prompt=prompt,
        negative_prompt=negative_prompt or None,
        width=width,
        height=height,
        steps=steps,
        guidance_scale=guidance,
        seed=seed,
        num_images=num_images,
        clone_id=clone_id,
        adapters=adapters,
        mode=mode,
        scheduler=scheduler,
        strength=strength,
        init_image=init_png,
        mask=mask_png,
        model=spec.id,
    )


def _adapters(sent: Any, bad: dict[str, str]) -> tuple[AdapterWeight, ...]:
    """The clones to blend, as sent (mappings with ``clone_id`` and ``weight``), checked
    into ``bad`` by their path ("input.adapters.1.weight")."""
    if not sent:
        return ()
    if len(sent) > MAX_ADAPTERS:
        bad["input.adapters"] = f"At most {MAX_ADAPTERS} clones can be blended."
        return ()
    adapters: list[AdapterWeight] = []
    seen: set[str] = set()
    for index, item in enumerate(sent):
        path = f"input.adapters.{index}"
        weight = item.get("weight")
        weight = 1.0 if weight is None else float(weight)
        if not 0.0 <= weight <= MAX_ADAPTER_WEIGHT:  # also rejects NaN
            bad[f"{path}.weight"] = f"Clone weights must be between 0 and {MAX_ADAPTER_WEIGHT:g}."
        parsed = parse_id(str(item.get("clone_id") or ""))
        if parsed is None:
            bad[f"{path}.cloneId"] = NOT_A_READY_CLONE
        elif str(parsed) in seen:
            bad[f"{path}.cloneId"] = "Each clone may be given once."
        else:
            seen.add(str(parsed))
            if f"{path}.weight" not in bad:
                adapters.append(AdapterWeight(str(parsed), weight))
    return tuple(adapters)


def _or(sent: Mapping[str, Any], name: str, default: Any) -> Any:
    """What the caller sent for ``name``, or the server's default when unset or null."""
    value = sent.get(name)
    return default if value is None else value


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInputError(
            f"The idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters.",
            ["idempotencyKey"],
        )
    return key
