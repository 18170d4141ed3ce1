"""What work costs, in credits. Pure functions: no database, no settings lookups.

Generation, per image::

    per_image = ceil(width * height * steps * multiplier / credit_pixel_steps), at least 1
    multiplier = clone_price_percent / 100 when the prompt uses a clone, else 1
    cost = per_image * num_images

``credit_pixel_steps`` defaults to 512 * 512 * 20: a 512x512 image at 20 steps costs
1 credit, at 30 steps 2, a 1024x1024 image at 30 steps 6. The work a denoiser does grows
with pixels times steps, so that is what is priced.

A catalog entry with its own price (``credits_per_image``, for one image at its native
size and default steps) scales that price by the same work instead::

    per_image = ceil(credits_per_image * (width * height * steps)
                     / (native_width * native_height * default_steps) * multiplier), at least 1

An entry without a price uses the pixel-step rule above, the same for every model. The
model's list prices (``list_price``, ``batch_list_price``) are one image at its native size
and default steps; the BATCH one is the entry's own, else ``DEFAULT_BATCH_PERCENT`` of the
standard one, rounded up.

A canceled or failed job is charged only for the steps it completed, rounded down in the
user's favour (``partial_charge``), and nothing if it never started.

Clone training: ``ceil(training_steps * images / training_image_steps_per_credit)``, at
least 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from neurall.gpu.catalog import DEFAULT_BATCH_PERCENT


class _PricingSettings(Protocol):
    credit_pixel_steps: int
    clone_price_percent: int
    training_image_steps_per_credit: int


@dataclass(frozen=True)
class Pricing:
    credit_pixel_steps: int = 512 * 512 * 20
    clone_price_percent: int = 150
    training_image_steps_per_credit: int = 200

    def __post_init__(self) -> None:
        if self.credit_pixel_steps < 1 or self.training_image_steps_per_credit < 1:
            raise ValueError("pricing divisors must be positive")
        if self.clone_price_percent < 100:
            raise ValueError("a clone never makes an image cheaper")

    @classmethod
    def from_settings(cls, settings: _PricingSettings) -> Pricing:
        return cls(
            credit_pixel_steps=settings.credit_pixel_steps,
            clone_price_percent=settings.clone_price_percent,
            training_image_steps_per_credit=settings.training_image_steps_per_credit,
        )


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def image_cost(width: int, height: int, steps: int, uses_clone: bool, pricing: Pricing) -> int:
    """Credits for one image (at least 1)."""
    if min(width, height, steps) < 1:
        raise ValueError("width, height and steps are positive")
    percent = pricing.clone_price_percent if uses_clone else 100
    work = width * height * steps * percent
    return max(1, _ceil_div(work, pricing.credit_pixel_steps * 100))


class ModelPrice(Protocol):
    """What pricing reads of a catalog entry (neurall.gpu.catalog.ModelSpec)."""

    @property
    def native_width(self) -> int: ...
    @property
    def native_height(self) -> int: ...
    @property
    def default_steps(self) -> int: ...
    @property
    def credits_per_image(self) -> int | None: ...
    @property
    def batch_credits_per_image(self) -> int | None: ...


def model_image_cost(
    width: int,
    height: int,
    steps: int,
    uses_clone: bool,
    model: ModelPrice,
    pricing: Pricing,
    *,
    batch: bool = False,
) -> int:
    """Credits for one image of ``model`` (at least 1): its own price scaled by the work,
    or the pixel-step price when the entry names none. ``batch``: at BATCH priority, the
    entry's batch price scaled the same way (else DEFAULT_BATCH_PERCENT of the standard
    cost), so an image at the native size and default steps costs ``batch_list_price``."""
    if min(width, height, steps) < 1:
        raise ValueError("width, height and steps are positive")
    per_image = model.batch_credits_per_image if batch else model.credits_per_image
    if per_image is None:
        if model.credits_per_image is None:
            standard = image_cost(width, height, steps, uses_clone, pricing)
        else:
            standard = model_image_cost(width, height, steps, uses_clone, model, pricing)
        return max(1, _ceil_div(standard * DEFAULT_BATCH_PERCENT, 100)) if batch else standard
    percent = pricing.clone_price_percent if uses_clone else 100
    work = per_image * width * height * steps * percent
    native = model.native_width * model.native_height * model.default_steps * 100
    return max(1, _ceil_div(work, native))


def model_generation_cost(
    width: int,
    height: int,
    steps: int,
    num_images: int,
    uses_clone: bool,
    model: ModelPrice,
    pricing: Pricing,
    *,
    batch: bool = False,
) -> int:
    """Credits a generation on ``model`` holds (and charges when it completes); ``batch``:
    at BATCH priority."""
    if num_images < 1:
        raise ValueError("num_images is positive")
    cost = model_image_cost(width, height, steps, uses_clone, model, pricing, batch=batch)
    return cost * num_images


def list_price(model: ModelPrice, pricing: Pricing) -> int:
    """One image of ``model`` at its native size and default steps, without a clone."""
    return model_image_cost(
        model.native_width, model.native_height, model.default_steps, False, model, pricing
    )


def batch_list_price(model: ModelPrice, pricing: Pricing) -> int:
    """``list_price`` at BATCH priority: the entry's own, else DEFAULT_BATCH_PERCENT of the
    standard price, rounded up."""
    return model_image_cost(
        model.native_width,
        model.native_height,
        model.default_steps,
        False,
        model,
        pricing,
        batch=True,
    )


def generation_cost(
    width: int, height: int, steps: int, num_images: int, uses_clone: bool, pricing: Pricing
) -> int:
    """Credits a generation holds (and charges when it completes): ``estimateCost``."""
    if num_images < 1:
        raise ValueError("num_images is positive")
    return image_cost(width, height, steps, uses_clone, pricing) * num_images


def partial_charge(full_cost: int, completed_steps: int, total_steps: int) -> int:
    """Credits for a job that ended early: the completed share of ``full_cost``, rounded
    down; 0 if it never started, ``full_cost`` if every step ran."""
    if total_steps < 1:
        raise ValueError("total_steps is positive")
    done = min(max(completed_steps, 0), total_steps)
    return full_cost * done // total_steps


def training_cost(steps: int, images: int, pricing: Pricing) -> int:
    """Credits to train a clone on ``images`` photos for ``steps`` steps (at least 1)."""
    if steps < 1 or images < 1:
        raise ValueError("steps and images are positive")
    return max(1, _ceil_div(steps * images, pricing.training_image_steps_per_credit))
