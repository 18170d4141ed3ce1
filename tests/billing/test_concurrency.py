"""Holds under real concurrency: on PostgreSQL every task has its own pooled connection
and transaction, so the row lock, not the event loop, is what keeps the books right."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from tortoise.transactions import in_transaction

from neurall.billing import ledger
from neurall.errors import InsufficientCreditsError
from neurall.orm import database
from neurall.orm.accounts import Account
from neurall.orm.billing import Hold, LedgerEntry
from tests.support.ledger import assert_invariants
from tests.support.services import pooled


async def test_200_concurrent_holds_against_credits_for_50(database_url):
    async with database.database(pooled(database_url)):
        account = await Account.create(email="rush@example.com")
        await ledger.grant(account.id, 50 * 3, "test", "grant:1")

        async def submit(n: int) -> bool:
            # As generate does: the job row and the hold in one transaction.
            job_id = uuid.uuid4()
            try:
                async with in_transaction():
                    await ledger.hold(account.id, 3, f"job:{job_id}", job_id=job_id)
            except InsufficientCreditsError:
                return False
            return True

        results = await asyncio.gather(*(submit(n) for n in range(200)))
        assert sum(results) == 50
        final = await assert_invariants(account.id)
        assert (final.balance, final.held) == (150, 150)
        assert await Hold.filter(account_id=account.id).count() == 50


async def test_concurrent_settles_and_releases_of_one_job_charge_once(database_url):
    async with database.database(pooled(database_url)):
        account = await Account.create(email="twice@example.com")
        await ledger.grant(account.id, 10, "test", "grant:1")
        await ledger.hold(account.id, 10, "job:x")
        outcomes = await asyncio.gather(
            *(ledger.settle("job:x", 4) for _ in range(10)),
            *(ledger.release("job:x") for _ in range(10)),
        )
        charged = {o for o in outcomes if o is not None}
        assert len(charged) == 1  # every settle reports the same single outcome
        final = await assert_invariants(account.id)
        assert final.held == 0
        assert final.balance == 10 - charged.pop()
        assert await LedgerEntry.filter(kind="CHARGE").count() <= 1


@pytest.mark.parametrize("workers", [8])
async def test_concurrent_same_reference_holds_make_one_hold(database_url, workers):
    async with database.database(pooled(database_url)):
        account = await Account.create(email="same@example.com")
        await ledger.grant(account.id, 10, "test", "grant:1")
        await asyncio.gather(*(ledger.hold(account.id, 4, "job:same") for _ in range(workers)))
        final = await assert_invariants(account.id)
        assert final.held == 4
