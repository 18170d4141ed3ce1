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


def test_a_model_with_a_price_scales_it_by_the_work():
    from neurall.billing.pricing import (
        batch_list_price,
        list_price,
        model_generation_cost,
        model_image_cost,
    )
    from neurall.gpu.catalog import ModelFamily, ModelSpec

    sdxl = ModelSpec(
        "sdxl", "SDXL", ModelFamily.SDXL, "x", native_width=1024, native_height=1024,
        default_steps=30, credits_per_image=4,
    )  # fmt: skip
    assert (list_price(sdxl, DEFAULT), batch_list_price(sdxl, DEFAULT)) == (4, 2)
    # Half the pixels at the default steps: half the price; with a clone, 150% of it.
    assert model_image_cost(1024, 512, 30, False, sdxl, DEFAULT) == 2
    assert model_image_cost(1024, 512, 30, True, sdxl, DEFAULT) == 3
    assert model_image_cost(64, 64, 1, False, sdxl, DEFAULT) == 1  # never free
    assert model_generation_cost(1024, 1024, 60, 2, False, sdxl, DEFAULT) == 16
    # Without a price of its own: the pixel-step price, whatever the model.
    unpriced = ModelSpec("sd", "SD", ModelFamily.SD1, "x")
    assert model_image_cost(1024, 1024, 30, False, unpriced, DEFAULT) == 6
    assert batch_list_price(unpriced, DEFAULT) == 1
