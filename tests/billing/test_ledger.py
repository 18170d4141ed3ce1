"""The ledger operations on SQLite and PostgreSQL: holds, settle, release, grants,
chargebacks, idempotency and the ambient transaction."""

from __future__ import annotations

import uuid

import pytest
from tortoise.transactions import in_transaction

from neurall.billing import ledger
from neurall.errors import ForbiddenError, InsufficientCreditsError
from neurall.orm.accounts import Account
from neurall.orm.billing import Dispute, Hold, LedgerEntry
from tests.support.ledger import assert_invariants


async def test_hold_settle_charges_actual_and_releases_rest(account):
    await ledger.grant(account.id, 100, "test", "grant:1")
    job = uuid.uuid4()
    await ledger.hold(account.id, 30, f"job:{job}", job_id=job)
    after_hold = await assert_invariants(account.id)
    assert (after_hold.balance, after_hold.held) == (100, 30)

    assert await ledger.settle(f"job:{job}", 20) == 20
    settled = await assert_invariants(account.id)
    assert (settled.balance, settled.held) == (80, 0)
    kinds = (
        await LedgerEntry.filter(account_id=account.id)
        .order_by("created_at")
        .values_list("kind", "amount", "held_change", "job_id")
    )
    assert sorted(kinds[1:]) == sorted(
        [("HOLD", 0, 30, job), ("CHARGE", -20, -20, job), ("RELEASE", 0, -10, job)]
    )


async def test_settle_and_release_are_idempotent_under_redelivery(account):
    await ledger.grant(account.id, 50, "test", "grant:1")
    await ledger.hold(account.id, 10, "job:a")
    await ledger.hold(account.id, 10, "job:a")  # redelivered submission: one hold
    await ledger.hold(account.id, 10, "job:b")
    assert (await assert_invariants(account.id)).held == 20

    for _ in range(3):
        assert await ledger.settle("job:a", 7) == 7
        await ledger.release("job:a")  # after settle: nothing
        await ledger.release("job:b")
        assert await ledger.settle("job:b", 5) == 0  # after release: nothing
    account_after = await assert_invariants(account.id)
    assert (account_after.balance, account_after.held) == (43, 0)
    assert await LedgerEntry.filter(account_id=account.id).count() == 1 + 2 + 2 + 1


async def test_settle_clamps_to_the_hold(account):
    await ledger.grant(account.id, 50, "test", "grant:1")
    await ledger.hold(account.id, 10, "job:a")
    await ledger.hold(account.id, 10, "job:b")
    assert await ledger.settle("job:a", 999) == 10
    assert await ledger.settle("job:b", -5) == 0
    assert (await assert_invariants(account.id)).balance == 40


async def test_hold_beyond_available_is_refused(account):
    await ledger.grant(account.id, 10, "test", "grant:1")
    await ledger.hold(account.id, 6, "job:a")
    with pytest.raises(InsufficientCreditsError) as caught:
        await ledger.hold(account.id, 5, "job:b")
    assert (caught.value.required, caught.value.available) == (5, 4)
    assert not await Hold.filter(reference="job:b").exists()
    await assert_invariants(account.id)


async def test_hold_joins_the_callers_transaction(account):
    await ledger.grant(account.id, 10, "test", "grant:1")

    class Boom(Exception):
        pass

    async def hold_then_fail() -> None:
        async with in_transaction():
            await ledger.hold(account.id, 5, "job:rolled-back")
            assert (await Account.get(id=account.id)).held == 5
            raise Boom

    with pytest.raises(Boom):
        await hold_then_fail()

    rolled_back = await assert_invariants(account.id)
    assert rolled_back.held == 0
    assert not await Hold.filter(reference="job:rolled-back").exists()
    assert not await LedgerEntry.filter(kind="HOLD").exists()

    async with in_transaction():
        await ledger.hold(account.id, 5, "job:kept")
    assert (await assert_invariants(account.id)).held == 5


async def test_a_failed_hold_leaves_the_callers_transaction_usable(account):
    await ledger.grant(account.id, 3, "test", "grant:1")
    async with in_transaction():
        with pytest.raises(InsufficientCreditsError):
            await ledger.hold(account.id, 5, "job:too-big")
        await ledger.hold(account.id, 2, "job:fits")
    assert (await assert_invariants(account.id)).held == 2


async def test_grants_and_top_ups_are_idempotent_on_reference(account):
    assert await ledger.grant(account.id, 10, "welcome", "signup:x")
    assert not await ledger.grant(account.id, 10, "welcome", "signup:x")
    assert await ledger.top_up(account.id, 500, "stripe:checkout:cs_1")
    assert not await ledger.top_up(account.id, 500, "stripe:checkout:cs_1")
    assert (await assert_invariants(account.id)).balance == 510


async def test_chargeback_may_leave_a_debt_that_blocks_holds(account):
    await ledger.top_up(account.id, 100, "stripe:checkout:cs_1")
    await ledger.hold(account.id, 80, "job:a")
    assert await ledger.chargeback(account.id, 100, "stripe:refund:ch_1", "refund")
    assert not await ledger.chargeback(account.id, 100, "stripe:refund:ch_1", "refund")
    debt = await assert_invariants(account.id, allow_debt=True)
    assert (debt.balance, debt.held) == (0, 80)
    with pytest.raises(InsufficientCreditsError) as caught:
        await ledger.hold(account.id, 1, "job:b")
    assert caught.value.available == 0
    # The accepted job still settles; the debt is paid by the next top-up.
    await ledger.settle("job:a", 80)
    await ledger.top_up(account.id, 100, "stripe:checkout:cs_2")
    paid = await assert_invariants(account.id)
    assert (paid.balance, paid.held) == (20, 0)


async def test_open_dispute_locks_spending(account):
    await ledger.grant(account.id, 100, "test", "grant:1")
    dispute = await Dispute.create(id="dp_1", account=account, credits=50)
    assert await ledger.is_spending_locked(account.id)
    with pytest.raises(ForbiddenError):
        await ledger.hold(account.id, 1, "job:a")
    dispute.closed_at = dispute.opened_at
    await dispute.save()
    await ledger.hold(account.id, 1, "job:a")


async def test_release_of_unknown_reference_is_a_no_op_and_settle_raises(account):
    await ledger.release("job:never")
    with pytest.raises(ledger.HoldNotFoundError):
        await ledger.settle("job:never", 1)


@pytest.mark.parametrize("amount", [0, -1])
async def test_non_positive_amounts_are_programming_errors(account, amount):
    with pytest.raises(ValueError, match="positive"):
        await ledger.hold(account.id, amount, "job:a")
    with pytest.raises(ValueError, match="positive"):
        await ledger.grant(account.id, amount, "x", "g")
