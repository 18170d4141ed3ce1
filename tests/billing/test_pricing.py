"""The pricing rule: documented examples, monotonicity, partial charges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurall.billing.pricing import (
    Pricing,
    generation_cost,
    image_cost,
    partial_charge,
    training_cost,
)
from neurall.config import Settings

DEFAULT = Pricing()


@pytest.mark.parametrize(
    ("width", "height", "steps", "images", "clone", "expected"),
    [
        (512, 512, 20, 1, False, 1),
        (512, 512, 30, 1, False, 2),
        (1024, 1024, 30, 1, False, 6),
        (512, 512, 20, 4, False, 4),
        (512, 512, 20, 1, True, 2),  # 1.5 rounds up
        (64, 64, 1, 1, False, 1),  # never free
    ],
)
def test_documented_examples(width, height, steps, images, clone, expected):
    assert generation_cost(width, height, steps, images, clone, DEFAULT) == expected


def test_pricing_comes_from_settings():
    settings = Settings(credit_pixel_steps=512 * 512, clone_price_percent=200)
    pricing = Pricing.from_settings(settings)
    assert generation_cost(512, 512, 20, 1, False, pricing) == 20
    assert generation_cost(512, 512, 20, 1, True, pricing) == 40


dims = st.integers(min_value=1, max_value=2048)
steps = st.integers(min_value=1, max_value=150)


@given(dims, dims, steps, st.integers(1, 8), st.booleans())
def test_cost_is_positive_and_grows_with_work(width, height, n_steps, images, clone):
    cost = generation_cost(width, height, n_steps, images, clone, DEFAULT)
    assert cost >= images
    assert generation_cost(width, height, n_steps + 1, images, clone, DEFAULT) >= cost
    assert image_cost(width, height, n_steps, True, DEFAULT) >= image_cost(
        width, height, n_steps, False, DEFAULT
    )


@given(st.integers(0, 1000), st.integers(1, 150), st.integers(-5, 200))
def test_partial_charge_is_a_rounded_down_share(full, total, completed):
    charge = partial_charge(full, completed, total)
    assert 0 <= charge <= full
    if completed <= 0:
        assert charge == 0
    if completed >= total:
        assert charge == full


def test_training_cost():
    assert training_cost(500, 10, DEFAULT) == 25
    assert training_cost(1, 1, DEFAULT) == 1


@pytest.mark.parametrize("bad", [(0, 512, 20, 1), (512, 512, 0, 1), (512, 512, 20, 0)])
def test_nonsense_inputs_are_rejected(bad):
    with pytest.raises(ValueError, match="positive"):
        generation_cost(*bad, False, DEFAULT)
