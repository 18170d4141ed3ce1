"""The e-mail tests' app sends through a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neurall.config import Settings, load_settings
from tests.support.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        smtp_url=smtp.url,
        mail_min_backoff_ms=100,
        mail_max_backoff_ms=500,
        password_reset_response_ms=150,
    )
