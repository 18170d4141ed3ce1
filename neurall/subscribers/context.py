"""What subscribers are built with: the settings and the process's ways to wake queues."""

from __future__ import annotations

from dataclasses import dataclass

from neurall.config import Settings
from neurall.mail.dispatch import MailDispatch


@dataclass(frozen=True)
class SubscriberContext:
    settings: Settings
    mail: MailDispatch
