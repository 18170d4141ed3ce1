"""Reading an account's ledger: pages of entries, newest first."""

from __future__ import annotations

from uuid import UUID

from neurall.orm.billing import LedgerEntry
from neurall.orm.pages import newest_first


async def ledger_page(
    account_id: UUID, first: int, after: str | None
) -> tuple[list[LedgerEntry], bool]:
    """Up to ``first`` entries after the cursor ``after``, newest first, and whether more
    follow (``first`` is already clamped by the caller)."""
    return await newest_first(LedgerEntry.filter(account_id=account_id), first, after)
