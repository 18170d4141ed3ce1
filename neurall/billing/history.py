"""Reading an account's ledger: pages of entries, newest first, with opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q

from neurall.errors import InvalidInputError
from neurall.orm.billing import LedgerEntry

MAX_PAGE_SIZE = 100


def encode_cursor(entry: LedgerEntry) -> str:
    """Opaque to clients: a position (time, id) in the newest-first order."""
    raw = json.dumps([entry.created_at.isoformat(), str(entry.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, entry_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created_at), UUID(entry_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInputError("This cursor is not valid.", ["after"]) from None


async def ledger_page(
    account_id: UUID, first: int, after: str | None
) -> tuple[list[LedgerEntry], bool]:
    """Up to ``first`` (at most MAX_PAGE_SIZE) entries after the cursor, newest first,
    and whether more follow."""
    first = max(1, min(first, MAX_PAGE_SIZE))
    query = LedgerEntry.filter(account_id=account_id)
    if after is not None:
        created_at, entry_id = decode_cursor(after)
        query = query.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=entry_id)
        )
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    return rows[:first], len(rows) > first
