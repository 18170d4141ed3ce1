"""How a domain function asks for its queued messages to be sent once its transaction
committed: the workers layer implements it with the mail actor (neurall.workers.mail)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol


class MailDispatch(Protocol):
    async def dispatch(self, message_ids: Sequence[uuid.UUID], *, delay_ms: int = 0) -> None:
        """Send these outbox rows (after commit), no sooner than ``delay_ms`` from now.
        Losing this call loses nothing: the relay in the retention sweep sends rows left
        behind."""
        ...


class NoDispatch:
    """Leaves rows for the relay (processes with no queue, e.g. admin commands)."""

    async def dispatch(self, message_ids: Sequence[uuid.UUID], *, delay_ms: int = 0) -> None:
        return None
