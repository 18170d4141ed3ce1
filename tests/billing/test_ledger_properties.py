"""Property test: random sequences of ledger operations (with repeats, to exercise
idempotency) against a small model of the rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurall.billing import ledger
from neurall.errors import ForbiddenError, InsufficientCreditsError
from neurall.orm.accounts import Account
from neurall.orm.billing import Dispute
from tests.support.ledger import assert_invariants

refs = st.integers(0, 4)
credits = st.integers(1, 40)
operation = st.one_of(
    st.tuples(st.just("grant"), refs, credits),
    st.tuples(st.just("top_up"), refs, credits),
    st.tuples(st.just("chargeback"), refs, credits),
    st.tuples(st.just("hold"), refs, credits),
    st.tuples(st.just("settle"), refs, st.integers(-5, 50)),
    st.tuples(st.just("release"), refs, st.just(0)),
    st.tuples(st.just("dispute"), refs, st.booleans().map(int)),
)


@dataclass
class Model:
    """What the ledger should say, computed the simple way."""

    balance: int = 0
    held: int = 0
    done: set[tuple[str, int]] = field(default_factory=set)
    holds: dict[int, tuple[int, bool]] = field(default_factory=dict)  # ref -> (amount, open)
    open_disputes: set[int] = field(default_factory=set)


async def apply(op: tuple[str, int, int], account: Account, model: Model, tag: str) -> None:
    kind, ref, n = op
    reference = f"{tag}:{ref}"
    if kind in ("grant", "top_up", "chargeback"):
        call = {
            "grant": lambda: ledger.grant(account.id, n, "prop", reference),
            "top_up": lambda: ledger.top_up(account.id, n, reference),
            "chargeback": lambda: ledger.chargeback(account.id, n, reference, "prop"),
        }[kind]
        applied = await call()
        assert applied == ((kind, ref) not in model.done)
        if applied:
            model.done.add((kind, ref))
            model.balance += -n if kind == "chargeback" else n
    elif kind == "hold":
        expect_error: type[Exception] | None = None
        if ref in model.holds:
            expect_error = None
        elif model.open_disputes:
            expect_error = ForbiddenError
        elif model.balance - model.held < n:
            expect_error = InsufficientCreditsError
        raised: type[Exception] | None = None
        try:
            await ledger.hold(account.id, n, reference)
        except (ForbiddenError, InsufficientCreditsError) as exc:
            raised = type(exc)
        assert raised is expect_error
        if raised is None and ref not in model.holds:
            model.holds[ref] = (n, True)
            model.held += n
    elif kind in ("settle", "release"):
        amount, is_open = model.holds.get(ref, (0, False))
        if kind == "settle" and ref not in model.holds:
            try:
                await ledger.settle(reference, n)
            except ledger.HoldNotFoundError:
                return
            raise AssertionError("settle of an unknown hold succeeded")
        if kind == "settle":
            await ledger.settle(reference, n)
        else:
            await ledger.release(reference)
        if is_open:
            charged = min(max(n, 0), amount) if kind == "settle" else 0
            model.balance -= charged
            model.held -= amount
            model.holds[ref] = (amount, False)
    elif kind == "dispute":
        dispute_id = f"dp_{tag}_{ref}"
        if n:  # open one (lock)
            await Dispute.get_or_create(
                id=dispute_id, defaults={"account_id": account.id, "credits": 0}
            )
            model.open_disputes.add(ref)
        else:
            await Dispute.filter(id=dispute_id).delete()
            model.open_disputes.discard(ref)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, max_size=25), repeat_every=st.integers(2, 5))
async def test_random_operation_sequences_keep_every_invariant(db, ops, repeat_every):
    account = await Account.create()
    tag = str(account.id)
    model = Model()
    chargebacks_seen = False
    for index, op in enumerate(ops):
        before = model.balance - model.held
        await apply(op, account, model, tag)
        if index % repeat_every == 0:
            await apply(op, account, model, tag)  # a redelivery changes nothing more
        chargebacks_seen = chargebacks_seen or op[0] == "chargeback"
        row = await assert_invariants(account.id, allow_debt=chargebacks_seen)
        assert (row.balance, row.held) == (model.balance, model.held)
        if op[0] != "chargeback":
            # Only a chargeback may push available credits below zero (or further down).
            assert row.balance - row.held >= min(0, before)
