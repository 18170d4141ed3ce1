"""Relay-style page info shared by every connection type (jobs, history, ledger)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

import strawberry

from neurall.errors import InvalidInputError

MAX_PAGE_SIZE = 100
# Longest list argument a resolver accepts (ids to delete, files to upload...).
MAX_LIST_INPUT = 100
_CURSOR_VERSION = "c1"
_MAX_CURSOR_LENGTH = 512

T = TypeVar("T")


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def page_info(edges: Sequence[Any], has_next_page: bool) -> PageInfo:
    """The PageInfo of a page of edges (each has a ``cursor``): it ends at the last one."""
    return PageInfo(has_next_page=has_next_page, end_cursor=edges[-1].cursor if edges else None)


def clamp_first(first: int | None, default: int = 20) -> int:
    """Page sizes are 1 to MAX_PAGE_SIZE whatever the caller asks."""
    return max(1, min(first if first is not None else default, MAX_PAGE_SIZE))


def cap_list(values: Sequence[T] | None, field: str, limit: int = MAX_LIST_INPUT) -> list[T]:
    """A list argument, refused (InvalidInput naming ``field``) when longer than ``limit``.

    Call it first in a resolver that takes a list, before any work scales with it.
    """
    if values is None:
        return []
    if len(values) > limit:
        raise InvalidInputError(f"At most {limit} items are accepted.", [field])
    return list(values)


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
