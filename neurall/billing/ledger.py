"""The credit ledger: every change to an account's credits, and the operations that make them.

Model. An account has a ``balance`` (credits it owns) and ``held`` credits (reserved by
queued or running work); ``available = balance - held`` is what it can spend now. Every
change writes one append-only ``LedgerEntry`` carrying two signed changes:

========== ================== ===================== ===================================
kind       ``amount``         ``held_change``       meaning
========== ================== ===================== ===================================
GRANT      +n                 0                     free credits (sign-up, operator)
TOP_UP     +n                 0                     bought through Stripe
HOLD       0                  +n                    reserve n for a job or clone
CHARGE     -n                 -n                    spend n of a hold
RELEASE    0                  -n                    give back the unspent rest of a hold
CHARGEBACK -n                 0                     refund or dispute took money back
ADJUSTMENT ±n                 0                     correction (e.g. a dispute won)
========== ================== ===================== ===================================

``amount`` is the contract's "signed change to the balance": holds and releases do not
change the balance, only what is available, so they carry ``amount = 0`` and the held
change in ``held_change``. Hence, at every commit, ``balance == sum(amount)`` and
``held == sum(held_change) == sum of open holds``.

Invariants: available credits never go negative and holds never exceed the balance,
through every operation except CHARGEBACK. A chargeback is always recorded in full
(the money is gone whether or not the credits were spent), so it may leave the balance
below ``held`` or below zero: a debt. While ``available < 0`` nothing can be held, a
later top-up pays the debt first, and open holds may still be settled (the work was
accepted before the money was taken back).

Idempotency: each operation names a ``reference`` ("job:<uuid>", "signup:<uuid>",
"stripe:checkout:<id>", ...); an entry is unique per (kind, reference), and a hold per
reference, so repeating an operation (a redelivered job, a re-sent webhook) changes
nothing.

Concurrency: every operation runs in a transaction (a savepoint inside the caller's
transaction, if there is one: Tortoise propagates ``in_transaction`` through a context
variable, so ``async with in_transaction(): await Job.create(...); await hold(...)``
commits or rolls back both). It first locks the account row (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite Tortoise serialises transactions on its single connection, and
SQLite's own locking makes another process's write fail rather than be lost), then
checks the idempotency record and the available credits under that lock.
"""

from __future__ import annotations

import logging
from uuid import UUID

from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from neurall import clock, events
from neurall.billing import spend_limits
from neurall.errors import ForbiddenError, InsufficientCreditsError
from neurall.metrics import CREDITS_CHARGED
from neurall.orm.accounts import Account, ApiKey
from neurall.orm.billing import Dispute, Hold, LedgerEntry

log = logging.getLogger(__name__)

OPEN, SETTLED, RELEASED = "open", "settled", "released"
SPENDING_LOCKED = "Spending is paused while a payment dispute is open."


class HoldNotFoundError(LookupError):
    """``settle`` was called for a reference that never held credits (a programming error,
    not a user error: jobs are created together with their hold)."""


async def hold(
    account_id: UUID,
    amount: int,
    reference: str,
    *,
    job_id: UUID | None = None,
    api_key: ApiKey | None = None,
) -> None:
    """Reserve ``amount`` credits for the work named by ``reference``.

    Raises InsufficientCreditsError when fewer are available, ForbiddenError while a
    dispute is open, SpendLimitReachedError when ``api_key`` (the key the work came
    through) would pass its own cap. Holding the same reference again does nothing.
    """
    _check_positive(amount)
    async with in_transaction():
        account = await _lock(account_id)
        existing = await Hold.filter(reference=reference).first()
        if existing is not None:
            if existing.account_id != account.id:  # type: ignore[attr-defined]
                raise ValueError("reference already used by another account")
            return
        if await Dispute.filter(account_id=account.id, closed_at=None).exists():
            raise ForbiddenError(SPENDING_LOCKED)
        available = account.balance - account.held
        if available < amount:
            raise InsufficientCreditsError(required=amount, available=max(available, 0))
        if api_key is not None:
            # Under the account lock: concurrent holds through the key are counted in turn.
            await spend_limits.check(api_key, amount, clock.now())
        await Hold.create(
            account=account,
            reference=reference,
            job_id=job_id,
            api_key_id=api_key.id if api_key is not None else None,
            amount=amount,
        )
        await _write(account, "HOLD", 0, amount, reference, job_id=job_id)


async def settle(reference: str, actual: int) -> int:
    """Charge ``actual`` credits of the hold (clamped to 0..held) and release the rest.

    Returns the credits charged. Settling again, or after a release, changes nothing and
    returns what was charged the first time. Raises HoldNotFoundError for an unknown
    reference.
    """
    async with in_transaction():
        found = await _locked_hold(reference)
        if found is None:
            raise HoldNotFoundError(reference)
        account, held = found
        if held.status != OPEN:
            return held.charged or 0
        charged = min(max(actual, 0), held.amount)
        await _close(account, held, charged, SETTLED)
    # Counted once the settlement is written (a settled hold returns above, uncounted).
    CREDITS_CHARGED.inc(charged)
    return charged


async def release(reference: str) -> None:
    """Give back the whole hold. Does nothing if it was already settled or released, or
    never existed (a job that failed before holding)."""
    async with in_transaction():
        found = await _locked_hold(reference)
        if found is None:
            return
        account, held = found
        if held.status == OPEN:
            await _close(account, held, 0, RELEASED)


async def end_hold(reference: str, charge: int) -> None:
    """Close a hold as its job or clone ended: settle ``charge`` credits of it (releasing
    the rest), or release it whole when nothing is charged. Idempotent, like both."""
    if charge:
        await settle(reference, charge)
    else:
        await release(reference)


async def grant(account_id: UUID, amount: int, reason: str, reference: str) -> bool:
    """Give free credits. Returns False if ``reference`` was already granted."""
    _check_positive(amount)
    return await _change_balance(account_id, "GRANT", amount, reference, reason)


async def top_up(account_id: UUID, amount: int, reference: str) -> bool:
    """Add bought credits. Returns False if ``reference`` was already credited."""
    _check_positive(amount)
    return await _change_balance(account_id, "TOP_UP", amount, reference, None)


async def chargeback(account_id: UUID, amount: int, reference: str, reason: str) -> bool:
    """Take back refunded or disputed credits, in full even into debt (see module doc).
    Returns False if ``reference`` was already charged back."""
    _check_positive(amount)
    return await _change_balance(account_id, "CHARGEBACK", -amount, reference, reason)


async def adjust(account_id: UUID, amount: int, reference: str, reason: str) -> bool:
    """An operator's or a resolved dispute's correction, positive or negative."""
    if amount == 0:
        raise ValueError("an adjustment changes something")
    return await _change_balance(account_id, "ADJUSTMENT", amount, reference, reason)


async def is_spending_locked(account_id: UUID) -> bool:
    return await Dispute.filter(account_id=account_id, closed_at=None).exists()


async def entry_totals(account_id: UUID) -> tuple[int, int]:
    """(sum of amounts, sum of held changes) over the account's entries: what its
    balance and held credits must equal. For audits and tests."""
    row = (
        await LedgerEntry.filter(account_id=account_id)
        .annotate(amount_sum=Sum("amount"), held_sum=Sum("held_change"))
        .first()
        .values("amount_sum", "held_sum")
    )
    if not row:
        return 0, 0
    return int(row["amount_sum"] or 0), int(row["held_sum"] or 0)


# ----------------------------------------------------------------------- internals


def _check_positive(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("credit amounts are positive integers")


async def _lock(account_id: UUID) -> Account:
    """The account row, locked until the surrounding transaction ends."""
    return await Account.select_for_update().get(id=account_id)


async def _locked_hold(reference: str) -> tuple[Account, Hold] | None:
    unlocked = await Hold.filter(reference=reference).first()
    if unlocked is None:
        return None
    account = await _lock(unlocked.account_id)  # type: ignore[attr-defined]
    # Read again under the account lock: a concurrent settle may have closed it meanwhile.
    return account, await Hold.get(id=unlocked.id)


async def _close(account: Account, held: Hold, charged: int, status: str) -> None:
    if charged:
        await _write(account, "CHARGE", -charged, -charged, held.reference, job_id=held.job_id)
    rest = held.amount - charged
    if rest:
        await _write(account, "RELEASE", 0, -rest, held.reference, job_id=held.job_id)
    held.status = status
    held.charged = charged
    held.closed_at = clock.now()
    await held.save(update_fields=["status", "charged", "closed_at"])


async def _change_balance(
    account_id: UUID, kind: str, amount: int, reference: str, reason: str | None
) -> bool:
    async with in_transaction():
        account = await _lock(account_id)
        if await LedgerEntry.filter(kind=kind, reference=reference).exists():
            return False
        await _write(account, kind, amount, 0, reference, reason=reason)
        return True


async def _write(
    account: Account,
    kind: str,
    amount: int,
    held_change: int,
    reference: str,
    *,
    job_id: UUID | None = None,
    reason: str | None = None,
) -> None:
    """Append one entry and apply it to the (locked) account row."""
    available_before = account.balance - account.held
    account.balance += amount
    account.held += held_change
    await Account.filter(id=account.id).update(balance=account.balance, held=account.held)
    await LedgerEntry.create(
        account=account,
        kind=kind,
        amount=amount,
        held_change=held_change,
        balance_after=account.balance,
        held_after=account.held,
        reference=reference,
        job_id=job_id,
        reason=reason,
    )
    log.info("ledger %s %+d (held %+d) account=%s", kind, amount, held_change, account.id)
    available_after = account.balance - account.held
    threshold = account.low_credit_threshold
    if credits_low_crossed(threshold, available_before, available_after):
        # In this transaction, so a rollback announces nothing. A caller's ``announcing``
        # block wakes the relay after its commit; otherwise the relay wakes after a delay.
        await events.record(
            events.EventType.CREDITS_LOW,
            subject_id=account.id,
            account_id=account.id,
            payload={"credits": available_after, "threshold": threshold},
        )


def credits_low_crossed(threshold: int | None, before: int, after: int) -> bool:
    """Available credits fell from at or above the threshold to below it."""
    return threshold is not None and before >= threshold > after
