"""Adapters an earlier version kept in <data>/adapters/ move into the storage directory on
`neurall migrate` (and the embedded serve's own migration), so existing clones keep working."""

from __future__ import annotations

from pathlib import Path

from neurall.cli import main
from neurall.clones.store import adopt_legacy_adapters
from neurall.config import load_settings


def test_legacy_adapters_move_once_into_storage(tmp_path: Path, monkeypatch):
    legacy = tmp_path / "adapters"
    legacy.mkdir()
    (legacy / "a.safetensors").write_bytes(b"weights a")
    stored = tmp_path / "storage" / "adapters"
    stored.mkdir(parents=True)
    (stored / "b.safetensors").write_bytes(b"new b")
    (legacy / "b.safetensors").write_bytes(b"old b")  # already moved once: kept as stored

    monkeypatch.setenv("NEURALL_DATA_DIR", str(tmp_path))
    main(["migrate"])

    assert (stored / "a.safetensors").read_bytes() == b"weights a"
    assert (stored / "b.safetensors").read_bytes() == b"new b"
    assert not (legacy / "a.safetensors").exists()
    assert adopt_legacy_adapters(load_settings(data_dir=tmp_path)) == 0


def test_nothing_moves_onto_a_bucket(tmp_path: Path):
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "a.safetensors").write_bytes(b"w")
    settings = load_settings(data_dir=tmp_path, storage_url="s3://bucket")
    assert adopt_legacy_adapters(settings) == 0
    assert (tmp_path / "adapters" / "a.safetensors").exists()
