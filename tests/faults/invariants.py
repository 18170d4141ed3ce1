"""What must hold after any outage, once the lease plus a minute has passed: every job
ended, no credit held for nothing, nothing charged twice, no API request left behind.
Shared by the fault tests and the soak (bench/soak.py)."""

from __future__ import annotations

import asyncio
import time

import asyncpg

ACTIVE = ("QUEUED", "RUNNING")


async def active_jobs(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM job WHERE status = ANY($1)", ACTIVE))
    finally:
        await conn.close()


async def wait_until_every_job_ended(database_url: str, within_s: float) -> float:
    """Seconds it took; fails if some job is still QUEUED or RUNNING after ``within_s``."""
    started = time.monotonic()
    while True:
        left = await active_jobs(database_url)
        if not left or time.monotonic() - started > within_s:
            break
        await asyncio.sleep(0.5)
    assert left == 0, f"{left} jobs still queued or running after {within_s:.0f} s"
    return time.monotonic() - started


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


def payload_queues(queue_names: list[str]) -> list[str]:
    """API requests still on the broker (the privacy sweep's part here)."""
    return [name for name in queue_names if name.startswith("neurall.payload.")]
