"""The catalog file: what a valid one gives, and a clear refusal for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurall.gpu.catalog import (
    Catalog,
    CatalogError,
    ModelFamily,
    builtin_catalog,
    catalog_for,
    load_catalog,
)

SDXL = """
[[model]]
id = "sdxl-base"
name = "SDXL base 1.0"
family = "SDXL"
source = "stabilityai/stable-diffusion-xl-base-1.0"
native_size = 1024
max_size = 1536
default_steps = 30
max_steps = 80
credits_per_image = 4
batch_credits_per_image = 2

[[model]]
id = "flux-schnell"
family = "FLUX"
source = "/models/flux-schnell"
default = true
preload = true
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


def test_a_valid_file_lists_its_models_the_default_first(tmp_path):
    catalog = load_catalog(_write(tmp_path, SDXL))
    assert [spec.id for spec in catalog] == ["flux-schnell", "sdxl-base"]
    assert catalog.default.id == "flux-schnell"
    sdxl = catalog["sdxl-base"]
    assert (sdxl.family, sdxl.native_width, sdxl.max_height) == (ModelFamily.SDXL, 1024, 1536)
    assert (sdxl.credits_per_image, sdxl.batch_credits_per_image) == (4, 2)
    flux = catalog["flux-schnell"]
    # Each family's defaults: FLUX is few-step flow matching with its own scheduler only.
    assert (flux.native_width, flux.default_steps, flux.schedulers) == (1024, 4, ("DEFAULT",))
    assert flux.triton_name == "neurall_flux_schnell"
    assert catalog.get("nope") is None
    assert catalog.get(None) is flux


def test_without_a_file_three_tiny_models_one_per_family():
    catalog = catalog_for(None)
    assert [(s.id, s.family, s.source) for s in catalog] == [
        ("tiny-sd", ModelFamily.SD1, "builtin:tiny-sd"),
        ("tiny-sdxl", ModelFamily.SDXL, "builtin:tiny-sdxl"),
        ("tiny-flux", ModelFamily.FLUX, "builtin:tiny-flux"),
    ]
    assert all(spec.native_width == 64 for spec in catalog)
    # The older one-model setting still names the default's source.
    assert builtin_catalog("runwayml/sd15").default.source == "runwayml/sd15"


@pytest.mark.parametrize(
    ("entry", "names"),
    [
        ('id = "a"\nsource = "x"', "'family': is required"),
        ('id = "A b"\nfamily = "SD1"\nsource = "x"', "'id'"),
        ('id = "a"\nfamily = "SD3"\nsource = "x"', "'family': one of"),
        ('id = "a"\nfamily = "SD1"\nsource = "builtin:tiny-flux"', "'source'"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\nnative_size = 500', "'native_width'"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\nmax_size = 256', "'max_size'"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\ndefault_steps = 0', "'default_steps'"),
        ('id = "a"\nfamily = "FLUX"\nsource = "x"\nschedulers = ["DDIM"]', "'schedulers'"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\nmodes = ["INPAINT"]', "'modes'"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\ncredits_per_image = 0', "'credits_per_image'"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\ncredits_per_image = "3"', "must be a int"),
        ('id = "a"\nfamily = "SD1"\nsource = "x"\ncolour = 1', "'colour': unknown field"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_entry_and_field(tmp_path, entry, names):
    path = _write(tmp_path, f"[[model]]\n{entry}\n")
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    message = str(raised.value)
    assert str(path) in message
    assert "model 1" in message
    assert names in message


def test_duplicate_ids_two_defaults_and_no_models_are_refused(tmp_path):
    one = 'id = "a"\nfamily = "SD1"\nsource = "x"\ndefault = true\n'
    with pytest.raises(CatalogError, match="unique"):
        load_catalog(_write(tmp_path, f"[[model]]\n{one}[[model]]\n{one}"))
    other = one.replace('"a"', '"b"')
    with pytest.raises(CatalogError, match="only one model may be the default"):
        load_catalog(_write(tmp_path, f"[[model]]\n{one}[[model]]\n{other}"))
    with pytest.raises(CatalogError, match=r"\[\[model\]\]"):
        load_catalog(_write(tmp_path, "title = 'x'\n"))
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(_write(tmp_path, "[[model]\n"))
    with pytest.raises(CatalogError, match="no model"):
        Catalog(())
