"""Bounds, defaults and clone checks per model (the one validation path, no database),
and the models' states behind one function."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from PIL import Image

from neurall.clones.service import validate_clone_input
from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.generation.model_states import ModelState, model_states
from neurall.generation.params import validate
from neurall.gpu.catalog import builtin_catalog, load_catalog
from tests.support.catalogs import PRICED, catalog_file


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 60, 30)).save(out, "PNG")
    return out.getvalue()


SETTINGS = Settings()
CATALOG = builtin_catalog()


def _refused(sent: dict, catalog=CATALOG, settings: Settings = SETTINGS) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as refused:
        validate({"prompt": "a fox", **sent}, settings, catalog)
    return refused.value.errors


def test_defaults_are_the_chosen_models():
    flux = validate({"prompt": "a fox", "model": "tiny-flux"}, SETTINGS, CATALOG)
    assert (flux.model, flux.width, flux.steps, flux.guidance_scale) == ("tiny-flux", 64, 4, 3.5)
    default = validate({"prompt": "a fox"}, SETTINGS, CATALOG)
    assert (default.model, default.steps, default.guidance_scale) == ("tiny-sd", 20, 7.5)


def test_flux_sides_are_multiples_of_sixteen():
    # FLUX packs 2x2 latents into one token: a side of 72 pixels (9 latents) cannot be.
    errors = _refused({"model": "tiny-flux", "width": 72})
    assert errors == {
        "input.width": "Width must be a multiple of 16 between 64 and 1024 for this model."
    }
    assert validate({"prompt": "a fox", "width": 72}, SETTINGS, CATALOG).width == 72


def test_an_unknown_model_is_refused_on_its_field():
    errors = _refused({"model": "sd-9000"})
    assert list(errors) == ["input.model"]
    assert "tiny-sd, tiny-sdxl, tiny-flux" in errors["input.model"]


def test_sizes_and_steps_are_bounded_by_the_model_and_the_server(tmp_path):
    catalog = load_catalog(catalog_file(tmp_path, PRICED))
    errors = _refused({"width": 512, "height": 256, "steps": 11}, catalog)
    assert errors == {
        "input.width": "Width must be a multiple of 8 between 64 and 256 for this model.",
        "input.steps": "Steps must be between 1 and 10 for this model.",
    }
    # The server's own cap holds when it is lower than the model's.
    capped = Settings(max_image_side=128)
    assert list(_refused({"height": 192}, catalog, capped)) == ["input.height"]


def test_flux_refuses_other_schedulers_and_a_negative_prompt():
    errors = _refused({"model": "tiny-flux", "scheduler": "EULER", "negative_prompt": "blur"})
    assert list(errors) == ["input.negativePrompt", "input.scheduler"]
    assert errors["input.scheduler"] == "The scheduler must be one of DEFAULT for this model."
    # An empty negative prompt is no negative prompt.
    assert validate({"prompt": "p", "model": "tiny-flux", "negative_prompt": " "}, SETTINGS)


def test_a_mode_the_model_lacks_is_refused_on_the_image_that_asks_for_it(tmp_path):
    catalog = load_catalog(catalog_file(tmp_path, PRICED))
    sent = {"model": "flux-priced", "init_image": png(64, 64)}
    assert list(_refused(sent, catalog)) == ["input.initImage"]
    assert list(_refused({**sent, "mask": png(64, 64)}, catalog)) == ["input.mask"]


def test_clones_are_refused_on_a_model_without_them(tmp_path):
    catalog = load_catalog(catalog_file(tmp_path, PRICED))
    clone = "00000000-0000-4000-8000-000000000001"
    assert list(_refused({"model": "flux-priced", "clone_id": clone}, catalog)) == ["input.cloneId"]


def test_a_clone_base_model_is_checked_against_the_catalog(tmp_path):
    catalog = load_catalog(catalog_file(tmp_path, PRICED))
    assert validate_clone_input("Ada", None, 4, SETTINGS, None, catalog)[3] == "priced"
    assert validate_clone_input("Ada", None, 4, SETTINGS, "pixel-steps", catalog)[3] == (
        "pixel-steps"
    )
    for model in ("sd-9000", "flux-priced"):
        with pytest.raises(InvalidInputError) as refused:
            validate_clone_input("Ada", None, 4, SETTINGS, model, catalog)
        assert refused.value.fields == ["input.baseModel"]


class _Backend:
    def __init__(self) -> None:
        self.asked = 0

    async def model_states(self) -> dict[str, str]:
        self.asked += 1
        return {"tiny-sd": "READY", "tiny-sdxl": "LOADING", "tiny-flux": "warming"}


async def test_model_states_come_from_the_backend_and_are_kept_briefly():
    backend = _Backend()
    runtime = SimpleNamespace(
        model_states_cache=None,
        started_inference=lambda: backend,
        settings=SimpleNamespace(inference_url="embedded"),
    )
    states = await model_states(runtime, CATALOG)  # type: ignore[arg-type]
    # A state the contract does not know reads COLD.
    assert states == {
        "tiny-sd": ModelState.READY,
        "tiny-sdxl": ModelState.LOADING,
        "tiny-flux": ModelState.COLD,
    }
    assert await model_states(runtime, CATALOG) == states  # type: ignore[arg-type]
    assert backend.asked == 1
