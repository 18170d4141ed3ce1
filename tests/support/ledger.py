"""What must hold of the credit ledger: ``assert_invariants`` for one account (on an open
Tortoise database), ``check_ledgers`` for a whole database after an outage (no credit held
for nothing, nothing charged twice, no API request left behind; shared by the fault tests
and scripts/soak.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

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


@dataclass
class LedgerReport:
    """What a whole database's ledgers look like after an outage or a soak."""

    mismatched_accounts: list[str] = field(default_factory=list)  # balance/held vs entries
    held_for_nothing: list[str] = field(default_factory=list)  # held beyond active jobs
    charged_twice: list[str] = field(default_factory=list)
    failed_but_charged: list[str] = field(default_factory=list)
    orphaned_payloads: int = 0
    credits_held: int = 0  # by every account, for active jobs or not

    def problems(self) -> list[str]:
        return [
            *(f"account {a}: balance or held differs from its ledger"
              for a in self.mismatched_accounts),
            *self.held_for_nothing,
            *(f"{reference} charged twice" for reference in self.charged_twice),
            *(f"failed job {job} was charged" for job in self.failed_but_charged),
            *([f"{self.orphaned_payloads} API payloads still marked for deletion"]
              if self.orphaned_payloads else []),
        ]  # fmt: skip


async def inspect_ledgers(database_url: str) -> LedgerReport:
    conn = await asyncpg.connect(database_url)
    try:
        report = LedgerReport()
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
            report.credits_held += row["held"]
            if row["balance"] != row["entries"] or row["held"] != row["held_entries"]:
                report.mismatched_accounts.append(str(row["id"]))
            if row["held"] != row["active_holds"]:
                report.held_for_nothing.append(
                    f"account {row['id']}: holds {row['held']} credits, its active jobs "
                    f"{row['active_holds']}"
                )
        report.charged_twice = [
            r["reference"]
            for r in await conn.fetch(
                "SELECT reference FROM ledger_entry WHERE kind = 'CHARGE' "
                "GROUP BY reference HAVING count(*) > 1"
            )
        ]
        report.failed_but_charged = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT j.id FROM job j JOIN ledger_entry e ON e.reference = 'job:' || j.id "
                "WHERE j.status = 'FAILED' AND e.kind = 'CHARGE'"
            )
        ]
        report.orphaned_payloads = await conn.fetchval(
            "SELECT count(*) FROM job WHERE payload_orphaned"
        )
        return report
    finally:
        await conn.close()


async def check_ledgers(database_url: str) -> list[str]:
    """Every problem found (an empty list when the ledgers are sound)."""
    return (await inspect_ledgers(database_url)).problems()
