"""Pages of an account's rows, newest first, with one opaque cursor format.

Every connection (jobs, history, the credit ledger) pages by the keyset (created_at, id):
a row inserted meanwhile never shifts a page, and the cursor names a position, not an
offset. The cursor is not signed: it only says where to resume within the caller's own
rows, so every query given one must still filter by the caller's account.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any, Protocol, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from neurall.errors import InvalidInputError

_CURSOR_VERSION = "c1"
_MAX_CURSOR_LENGTH = 512


class Dated(Protocol):
    id: Any
    created_at: datetime


M = TypeVar("M", bound=Dated)


async def newest_first(query: QuerySet[M], first: int, after: str | None) -> tuple[list[M], bool]:
    """Up to ``first`` rows of ``query`` after the cursor ``after``, newest first, and
    whether more follow."""
    position = decode_cursor(after, 2)
    if position is not None:
        try:
            created, row_id = datetime.fromisoformat(str(position[0])), uuid.UUID(str(position[1]))
        except ValueError:
            raise InvalidInputError("This cursor is not valid.", ["after"]) from None
        query = query.filter(Q(created_at__lt=created) | (Q(created_at=created) & Q(id__lt=row_id)))
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    return rows[:first], len(rows) > first


def cursor_of(row: Dated) -> str:
    """The cursor that resumes after ``row``."""
    return encode_cursor(row.created_at.isoformat(), str(row.id))


def encode_cursor(*parts: str | int) -> str:
    """An opaque cursor for a keyset position, e.g. ``encode_cursor(created_at_iso, id)``.

    Not signed: a cursor only says where to resume within the caller's own rows, so every
    query that decodes one must still filter by the caller's account.
    """
    raw = json.dumps([_CURSOR_VERSION, *parts], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int, field: str = "after") -> list[str | int] | None:
    """The ``arity`` parts of a cursor made by ``encode_cursor``; None for no cursor.

    Anything else (garbage, another version, wrong length) is InvalidInput on ``field``,
    never an exception that would surface as an internal error.
    """
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if (
            not isinstance(decoded, list)
            or len(decoded) != arity + 1
            or decoded[0] != _CURSOR_VERSION
            or not all(isinstance(p, str | int) and not isinstance(p, bool) for p in decoded[1:])
        ):
            raise ValueError("not a cursor")
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInputError("This cursor is not valid.", [field]) from None
    return decoded[1:]
