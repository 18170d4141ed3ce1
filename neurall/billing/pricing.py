"""What work costs, in credits. Pure functions: no database, no settings lookups.

Generation, per image::

    per_image = ceil(width * height * steps * multiplier / credit_pixel_steps), at least 1
    multiplier = clone_price_percent / 100 when the prompt uses a clone, else 1
    cost = per_image * num_images

``credit_pixel_steps`` defaults to 512 * 512 * 20: a 512x512 image at 20 steps costs
1 credit, at 30 steps 2, a 1024x1024 image at 30 steps 6. The work a denoiser does grows
with pixels times steps, so that is what is priced.

A canceled or failed job is charged only for the steps it completed, rounded down in the
user's favour (``partial_charge``), and nothing if it never started.

Clone training: ``ceil(training_steps * images / training_image_steps_per_credit)``, at
least 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
