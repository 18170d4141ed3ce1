"""POST /webhooks/stripe with payloads signed by the real stripe library."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest

from neurall.billing import ledger
from neurall.orm.accounts import Account
from neurall.orm.billing import LedgerEntry, StripeEvent
from tests.support.factories import sign_up
from tests.support.ledger import assert_invariants
from tests.support.stripe import checkout, event, signed

pytestmark = pytest.mark.usefixtures("database_url")

SIGNUP = 100  # the default sign-up grant


async def deliver(client: Any, body: str, header: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    response = await client.http.post("/webhooks/stripe", data=body, headers=headers)
    return response.status


async def deliver_like_stripe(client: Any, events: list[dict], copies: int, seed: int) -> None:
    """Every event ``copies`` times in a shuffled order; anything answered with an error
    is sent again later, as Stripe does, until everything has been accepted."""
    rng = random.Random(seed)
    pending = [e for e in events for _ in range(copies)]
    for _round in range(10):
        rng.shuffle(pending)
        retry = []
        for item in pending:
            status = await deliver(client, *signed(item))
            assert status in (200, 503), status
            if status != 200:
                retry.append(item)
        if not retry:
            return
        pending = retry
    raise AssertionError("events were never all accepted")


async def bought(client: Any, credits: int = 500) -> tuple[Account, str]:
    """A signed-up account with an unpaid checkout session for ``credits``."""
    me = await sign_up(client)
    result = await checkout(client, credits)
    session_id = result["url"].rsplit("/", 1)[1]
    return await Account.get(id=me["id"]), session_id


def session(session_id: str, status: str = "paid", pi: str = "pi_1") -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "payment_status": status,
        "payment_intent": pi,
        "amount_total": 500,
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_event_type_five_times_shuffled_applies_once(client, seed):
    account, session_id = await bought(client)
    events = [
        event("evt_paid", "checkout.session.completed", session(session_id)),
        event("evt_async_ok", "checkout.session.async_payment_succeeded", session(session_id)),
        event("evt_async_fail", "checkout.session.async_payment_failed", session(session_id)),
        event(
            "evt_refund",
            "charge.refunded",
            {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": "pi_1",
                "amount": 500,
                "amount_refunded": 100,
                "metadata": {},
            },
        ),
        event(
            "evt_dispute",
            "charge.dispute.created",
            {
                "id": "dp_1",
                "object": "dispute",
                "charge": "ch_1",
                "payment_intent": "pi_1",
                "amount": 200,
                "status": "needs_response",
            },
        ),
        event("evt_other", "customer.created", {"id": "cus_1", "object": "customer"}),
    ]
    await deliver_like_stripe(client, events, copies=5, seed=seed)

    row = await assert_invariants(account.id)
    assert row.balance == SIGNUP + 500 - 100 - 200
    kinds = sorted(await LedgerEntry.filter(account_id=account.id).values_list("kind", "amount"))
    assert kinds == [("CHARGEBACK", -200), ("CHARGEBACK", -100), ("GRANT", 100), ("TOP_UP", 500)]
    assert await StripeEvent.all().count() == len(events)
    assert await ledger.is_spending_locked(account.id)

    won = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_1", "status": "won"}
    for _ in range(3):
        assert await deliver(client, *signed(event("evt_won", "charge.dispute.closed", won))) == 200
    assert not await ledger.is_spending_locked(account.id)
    assert (await assert_invariants(account.id)).balance == SIGNUP + 500 - 100


async def test_unpaid_completion_credits_only_after_async_success(client):
    account, session_id = await bought(client)
    unpaid = event("evt_1", "checkout.session.completed", session(session_id, "unpaid"))
    assert await deliver(client, *signed(unpaid)) == 200
    assert (await Account.get(id=account.id)).balance == SIGNUP
    failed = event("evt_2", "checkout.session.async_payment_failed", session(session_id, "unpaid"))
    assert await deliver(client, *signed(failed)) == 200
    assert (await Account.get(id=account.id)).balance == SIGNUP
    ok = event("evt_3", "checkout.session.async_payment_succeeded", session(session_id))
    assert await deliver(client, *signed(ok)) == 200
    assert (await assert_invariants(account.id)).balance == SIGNUP + 500


async def test_refunds_reported_cumulatively_take_back_only_the_new_part(client):
    account, session_id = await bought(client)
    await deliver(
        client, *signed(event("evt_1", "checkout.session.completed", session(session_id)))
    )
    for n, refunded in enumerate([100, 100, 300, 500, 500]):
        charge = {
            "id": "ch_1",
            "payment_intent": "pi_1",
            "amount": 500,
            "amount_refunded": refunded,
        }
        assert await deliver(client, *signed(event(f"evt_r{n}", "charge.refunded", charge))) == 200
    assert (await assert_invariants(account.id)).balance == SIGNUP


async def test_the_same_event_delivered_concurrently_applies_once(client):
    account, session_id = await bought(client)
    body, header = signed(event("evt_1", "checkout.session.completed", session(session_id)))
    statuses = await asyncio.gather(*(deliver(client, body, header) for _ in range(8)))
    assert set(statuses) == {200}
    assert (await assert_invariants(account.id)).balance == SIGNUP + 500


async def test_bad_signatures_are_rejected_and_change_nothing(client):
    account, session_id = await bought(client)
    paid = event("evt_1", "checkout.session.completed", session(session_id))
    body, header = signed(paid)
    forged = signed(paid, secret="whsec_someone_else")
    tampered_body = body.replace('"amount_total": 500', '"amount_total": 5000000')
    expired = signed(paid, age_s=301)
    cases = [
        forged,
        (tampered_body, header),
        expired,
        (body, None),
        (body, "t=1,v1=deadbeef"),
        ("not json", signed({"id": "x"})[1]),
    ]
    for case_body, case_header in cases:
        assert await deliver(client, case_body, case_header) == 400
    assert await StripeEvent.all().count() == 0
    assert (await Account.get(id=account.id)).balance == SIGNUP
    # The genuine delivery still works afterwards.
    assert await deliver(client, body, header) == 200
    assert (await Account.get(id=account.id)).balance == SIGNUP + 500


async def test_signature_within_tolerance_is_accepted(client):
    _account, session_id = await bought(client)
    paid = event("evt_1", "checkout.session.completed", session(session_id))
    assert await deliver(client, *signed(paid, age_s=200)) == 200


async def test_refund_for_an_unknown_payment_asks_for_redelivery(client):
    await sign_up(client)
    charge = {"id": "ch_x", "payment_intent": "pi_unknown", "amount": 500, "amount_refunded": 500}
    body, header = signed(event("evt_1", "charge.refunded", charge))
    assert await deliver(client, body, header) == 503
    assert await StripeEvent.all().count() == 0
    assert json.loads(body)["id"] == "evt_1"
