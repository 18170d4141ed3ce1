"""Settings: embedded defaults, persisted secrets, and errors that name the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neurall.config import SettingsError, load_settings


def test_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.data_dir == (tmp_path / "neurall-data").resolve()
    assert settings.database_url == f"sqlite://{settings.data_dir / 'neurall.sqlite3'}"
    assert settings.broker_url == ""
    assert settings.is_embedded_broker
    assert settings.inference_url == "embedded"
    assert settings.model == "tiny"
    assert settings.production is False


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        (None, "http://127.0.0.1:8000"),  # not `neurall serve`: its default address
        (("127.0.0.1", 9000), "http://127.0.0.1:9000"),
        (("app.internal", 8080), "http://app.internal:8080"),
        # A wildcard is no address a browser can use; localhost reaches it from here.
        (("0.0.0.0", 9000), "http://localhost:9000"),  # noqa: S104
        (("::", 9000), "http://localhost:9000"),
        (("::1", 9000), "http://[::1]:9000"),
    ],
)
def test_public_url_follows_the_listen_address_when_unset(tmp_path, monkeypatch, listen, expected):
    monkeypatch.delenv("NEURALL_PUBLIC_URL", raising=False)
    assert load_settings(listen=listen, data_dir=tmp_path).public_url == expected


def test_a_configured_public_url_wins_over_the_listen_address(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALL_PUBLIC_URL", "https://api.example.com/")
    settings = load_settings(listen=("0.0.0.0", 9000), data_dir=tmp_path)  # noqa: S104
    assert settings.public_url == "https://api.example.com"


def test_secret_key_is_generated_once_and_persisted(tmp_path):
    first = load_settings(data_dir=tmp_path).secret_key.get_secret_value()
    second = load_settings(data_dir=tmp_path).secret_key.get_secret_value()
    assert first == second
    assert len(first) >= 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_variables_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEURALL_PRODUCTION", "true")
    monkeypatch.setenv("NEURALL_SECRET_KEY", "s" * 64)
    settings = load_settings()
    assert settings.production is True
    assert settings.secret_key.get_secret_value() == "s" * 64
    assert not (tmp_path / "secret_key").exists()
    # Production never sends session cookies without Secure.
    assert settings.insecure_localhost_cookies is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEURALL_DATABASE_URL", "mysql://x"),
        ("NEURALL_BROKER_URL", "redis://x"),
        ("NEURALL_INFERENCE_URL", "http://triton:8000"),
        ("NEURALL_SESSION_IDLE_TIMEOUT_S", "0"),
        ("NEURALL_PRODUCTION", "perhaps"),
        ("NEURALL_PUBLIC_URL", "example.com"),
    ],
)
def test_invalid_values_fail_naming_the_setting(tmp_path, monkeypatch, variable, value):
    monkeypatch.setenv("NEURALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert variable in str(error.value)


def test_the_cli_exits_with_the_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "neurall.cli", "migrate"],
        env={"NEURALL_DATA_DIR": str(tmp_path), "NEURALL_DATABASE_URL": "mysql://x"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "NEURALL_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
