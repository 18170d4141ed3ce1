"""A real SMTP server on loopback (aiosmtpd's Controller) that keeps what it receives,
parsed with the standard library's ``email`` package."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.poll import until
from tests.support.ports import free_port


@dataclass
class Inbox:
    """What the server received: one parsed message per recipient."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        for _ in envelope.rcpt_tos:
            self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(
        self, address: str, count: int = 1, within_s: float = 15
    ) -> list[EmailMessage]:
        await until(
            lambda: [(m["To"], m["Subject"]) for m in self.messages],
            lambda _received: len(self.to(address)) >= count,
            within=within_s,
            every=0.05,
            what=f"{count} message(s) to {address} (received: to, subject)",
        )
        return self.to(address)


class SmtpServer:
    """Start, stop and start again on the same port (an outage in the middle of a test)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def link_token(message: EmailMessage, fragment: str) -> str:
    """The token of the ``#fragment=TOKEN`` link in the plain-text part."""
    found = re.search(rf"/#{fragment}=([0-9a-f]{{32}}\.[A-Za-z0-9_-]+)", text_part(message))
    assert found, text_part(message)
    return found.group(1)
