"""models and model for anyone, and a bad catalog file refused at start."""

from __future__ import annotations

import pytest

from neurall.cli import main
from tests.support.catalogs import MODEL, MODELS, PRICED, catalog_file


@pytest.mark.usefixtures("database_url")
async def test_models_lists_the_built_ins_the_default_first_without_signing_in(client):
    models = (await client.data(MODELS))["models"]
    assert [m["id"] for m in models] == ["tiny-sd", "tiny-sdxl", "tiny-flux"]
    assert [m["isDefault"] for m in models] == [True, False, False]
    assert [m["family"] for m in models] == ["SD1", "SDXL", "FLUX"]
    flux = models[2]
    assert (flux["nativeWidth"], flux["defaultSteps"], flux["schedulers"]) == (64, 4, ["DEFAULT"])
    assert flux["modes"] == ["TEXT_TO_IMAGE", "IMAGE_TO_IMAGE", "INPAINT"]
    assert (flux["maxWidth"], flux["maxSteps"], flux["supportsClones"]) == (1024, 150, True)
    # The pixel-step price at 64x64: never free; BATCH is half of it, rounded up.
    assert {(m["creditsPerImage"], m["batchCreditsPerImage"]) for m in models} == {(1, 1)}
    # No job has started the embedded pipeline yet.
    assert {m["state"] for m in models} == {"COLD"}


@pytest.mark.usefixtures("database_url")
async def test_model_by_id_and_null_for_an_unknown_one(client):
    assert (await client.data(MODEL, {"id": "tiny-sdxl"}))["model"]["name"] == "Tiny SDXL"
    assert (await client.data(MODEL, {"id": "sd-9000"}))["model"] is None


# A bad catalog file stops the process at start, saying what is wrong.


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"]])
def test_a_bad_catalog_file_stops_serve_and_worker_with_its_message(tmp_path, monkeypatch, command):
    bad = catalog_file(tmp_path, '[[model]]\nid = "x"\nfamily = "SD3"\nsource = "a/b"\n')
    monkeypatch.setenv("NEURALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEURALL_MODELS_FILE", str(bad))
    monkeypatch.setenv("NEURALL_BROKER_URL", "amqp://127.0.0.1:1/")
    with pytest.raises(SystemExit) as stopped:
        main(command)
    message = str(stopped.value.code)  # a message: exit status 1
    assert "model catalog" in message
    assert f"{bad}: model 1 ('x'): field 'family'" in message
    assert not (tmp_path / "data" / "neurall.sqlite3").exists()  # stopped before migrating


def test_models_list_prints_each_model_with_its_prices(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEURALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEURALL_MODELS_FILE", str(catalog_file(tmp_path, PRICED)))
    main(["models", "list"])
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert lines[0][:5] == ["id", "family", "default", "credits", "batch"]
    assert lines[1:] == [
        ["priced", "SD1", "yes", "3", "2", "embedded"],
        ["flux-priced", "FLUX", "5", "3", "embedded"],
        ["pixel-steps", "SDXL", "1", "1", "embedded"],
    ]
