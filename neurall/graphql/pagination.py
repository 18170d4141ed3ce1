"""Relay-style page info shared by every connection type (jobs, history, ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import strawberry

MAX_PAGE_SIZE = 100

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
