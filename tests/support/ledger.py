"""What must hold of the credit ledger: ``assert_invariants`` for one account (on an open
Tortoise database), ``check_ledgers`` for a whole database after an outage (no credit held
for nothing, nothing charged twice, no API request left behind; shared by the fault tests
and scripts/soak.py)."""

from __future__ import annotations

import uuid

import asyncpg

from neurall.billing import ledger
from neurall.orm.accounts import Account
from neurall.orm.billing import Hold


async def assert_invariants(account_id: uuid.UUID, *, allow_debt: bool = False) -> Account:
    """The account's balance and held credits agree with its ledger entries and open holds,
    and (unless ``allow_debt``) it owes nothing."""
    account = await Account.get(id=account_id)
    amount_sum, held_sum = await ledger.entry_totals(account_id)
    assert account.balance == amount_sum
    assert account.held == held_sum
    open_holds = await Hold.filter(account_id=account_id, status="open").values_list(
        "amount", flat=True
    )
    assert account.held == sum(open_holds)
    assert account.held >= 0
    if not allow_debt:
        assert account.balance - account.held >= 0
    return account


async def check_ledgers(database_url: str) -> list[str]:
    """Every problem found (an empty list when the ledgers are sound)."""
    conn = await asyncpg.connect(database_url)
    try:
        problems = []
        for row in await conn.fetch(
            """
            SELECT a.id, a.balance, a.held,
                   (SELECT coalesce(sum(amount), 0) FROM ledger_entry e
                     WHERE e.account_id = a.id) AS entries,
                   (SELECT coalesce(sum(held_change), 0) FROM ledger_entry e
                     WHERE e.account_id = a.id) AS held_entries,
                   (SELECT coalesce(sum(h.amount), 0) FROM credit_hold h
                     JOIN job j ON j.id = h.job_id
                     WHERE h.account_id = a.id AND h.status = 'open'
                       AND j.status IN ('QUEUED', 'RUNNING')) AS active_holds
            FROM account a
            """
        ):
            if row["balance"] != row["entries"] or row["held"] != row["held_entries"]:
                problems.append(f"account {row['id']}: balance or held differs from its ledger")
            if row["held"] != row["active_holds"]:
                problems.append(
                    f"account {row['id']}: holds {row['held']} credits, its active jobs "
                    f"{row['active_holds']}"
                )
        charged_twice = await conn.fetch(
            "SELECT reference FROM ledger_entry WHERE kind = 'CHARGE' "
            "GROUP BY reference HAVING count(*) > 1"
        )
        problems += [f"{r['reference']} charged twice" for r in charged_twice]
        failed_but_charged = await conn.fetch(
            "SELECT j.id FROM job j JOIN ledger_entry e ON e.reference = 'job:' || j.id "
            "WHERE j.status = 'FAILED' AND e.kind = 'CHARGE'"
        )
        problems += [f"failed job {r['id']} was charged" for r in failed_but_charged]
        orphaned = await conn.fetchval("SELECT count(*) FROM job WHERE payload_orphaned")
        if orphaned:
            problems.append(f"{orphaned} API payloads still marked for deletion")
        return problems
    finally:
        await conn.close()
