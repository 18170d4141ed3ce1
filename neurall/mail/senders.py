"""Where messages go: an SMTP server (NEURALL_SMTP_URL), or .eml files in the data
directory's outbox folder, the embedded default that needs no server."""

from __future__ import annotations

import asyncio
import logging
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from neurall import clock
from neurall.config import Settings

log = logging.getLogger(__name__)


class SendError(Exception):
    """The message was not taken; it may be tried again."""


class Sender(Protocol):
    async def send(self, message: EmailMessage, name: str) -> None:
        """Hand ``message`` over, or raise SendError. ``name`` identifies it in logs."""
        ...


class SmtpSender:
    """aiosmtplib, one connection per message (mail is rare; a pool is not worth it)."""

    def __init__(self, url: str, timeout_s: float = 30) -> None:
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout_s = timeout_s

    async def send(self, message: EmailMessage, name: str) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                # smtps:// is TLS from the first byte; smtp:// upgrades with STARTTLS
                # whenever the server offers it (None: aiosmtplib's "if supported").
                start_tls=False if self.implicit_tls else None,
                timeout=self.timeout_s,
            )
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            # Only the kind and the reply code: servers' replies may echo the recipient.
            code = getattr(exc, "code", None)
            raise SendError(type(exc).__name__ + (f" {code}" if code else "")) from None


class FileSender:
    """Writes each message to ``<dir>/<time>-<name>.eml``. The log names the file, never
    its content: links carry tokens."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage, name: str) -> None:
        path = self.directory / f"{clock.now():%Y%m%dT%H%M%S%f}-{name}.eml"
        await asyncio.to_thread(self._write, path, bytes(message))
        log.info("e-mail written to %s", path)

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Owner-only: the file holds a link that can reset a password.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def make_sender(settings: Settings) -> Sender:
    url = settings.smtp_url.get_secret_value()
    if url:
        return SmtpSender(url)
    return FileSender(settings.outbox_dir)
