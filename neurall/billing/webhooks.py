"""What each verified Stripe event does to the ledger.

Events arrive at least once and in any order. Each event id is recorded in the same
transaction as its effect, so a redelivered event does nothing; and every effect is a
ledger operation idempotent on its own reference, so two *different* events about the
same payment (``checkout.session.completed`` and ``...async_payment_succeeded``) still
credit it once.

=================================== ================================================
event                               effect
=================================== ================================================
checkout.session.completed          TOP_UP of the purchase's credits if paid
checkout.session.async_payment_...  succeeded: TOP_UP; failed: nothing
charge.refunded                     CHARGEBACK of the newly refunded share of credits
charge.dispute.created              CHARGEBACK of the disputed share; spending locked
charge.dispute.closed               spending unlocked; if won, ADJUSTMENT gives it back
anything else                       ignored
=================================== ================================================

A refund or dispute about a payment this server has not seen complete yet raises
``RetryLaterError``: the webhook answers 503 without recording the event, and Stripe
delivers it again later, after the payment's own event.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from neurall import clock, events
from neurall.billing import ledger
from neurall.orm.billing import Dispute, Purchase, StripeEvent

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class RetryLaterError(Exception):
    """The event refers to something not known yet; Stripe should deliver it again."""


async def handle_event(event: Obj) -> str:
    """Apply one verified event exactly once. Returns what happened, for the response
    and the log ("duplicate", "ignored", "processed")."""
    event_id, event_type = str(event["id"]), str(event["type"])
    handler = _HANDLERS.get(event_type)
    try:
        async with in_transaction():
            # Recorded first: a concurrent delivery of the same event waits here on the
            # primary key, then fails and reports a duplicate.
            if await StripeEvent.filter(id=event_id).exists():
                return "duplicate"
            await StripeEvent.create(id=event_id, type=event_type[:100])
            if handler is None:
                return "ignored"
            await handler(event["data"]["object"])
    except IntegrityError:
        return "duplicate"
    log.info("stripe event %s (%s) processed", event_id, event_type)
    return "processed"


async def _session_completed(session: Obj) -> None:
    purchase = await _purchase_for_session(session)
    if purchase is None:
        return
    if session.get("payment_intent"):
        await _remember_payment_intent(purchase, str(session["payment_intent"]))
    if session.get("payment_status") == "paid":
        await _credit(purchase)


async def _async_payment_succeeded(session: Obj) -> None:
    purchase = await _purchase_for_session(session)
    if purchase is None:
        return
    if session.get("payment_intent"):
        await _remember_payment_intent(purchase, str(session["payment_intent"]))
    await _credit(purchase)


async def _async_payment_failed(session: Obj) -> None:
    log.info("checkout session payment failed; nothing credited")


async def _charge_refunded(charge: Obj) -> None:
    purchase = await _purchase_for_payment(charge)
    target = _share(purchase, int(charge.get("amount_refunded") or 0))
    # Stripe reports the refunded amount cumulatively: take back only what is new.
    purchase = await Purchase.select_for_update().get(id=purchase.id)
    new = target - purchase.refunded_credits
    if new <= 0:
        return
    await ledger.chargeback(
        purchase.account_id,  # type: ignore[attr-defined]
        new,
        f"stripe:refund:{charge['id']}:{charge.get('amount_refunded')}",
        "refund",
    )
    purchase.refunded_credits = target
    await purchase.save(update_fields=["refunded_credits"])


async def _dispute_created(dispute: Obj) -> None:
    purchase = await _purchase_for_payment(dispute)
    credits = _share(purchase, int(dispute.get("amount") or 0))
    account_id: UUID = purchase.account_id  # type: ignore[attr-defined]
    await Dispute.get_or_create(
        id=str(dispute["id"]), defaults={"account_id": account_id, "credits": credits}
    )
    if credits > 0:
        await ledger.chargeback(account_id, credits, f"stripe:dispute:{dispute['id']}", "dispute")


async def _dispute_closed(dispute: Obj) -> None:
    row = await Dispute.filter(id=str(dispute["id"])).first()
    if row is None:
        raise RetryLaterError("dispute closed before it was opened here")
    if row.closed_at is not None:
        return
    outcome = str(dispute.get("status") or "closed")
    if outcome == "won" and row.credits > 0:
        await ledger.adjust(
            row.account_id,  # type: ignore[attr-defined]
            row.credits,
            f"stripe:dispute-won:{row.id}",
            "dispute won",
        )
    row.closed_at = clock.now()
    row.outcome = outcome[:32]
    await row.save(update_fields=["closed_at", "outcome"])


# ----------------------------------------------------------------------- helpers


async def _purchase_for_session(session: Obj) -> Purchase | None:
    purchase = await Purchase.filter(session_id=str(session["id"])).first()
    if purchase is None:
        # Not made by createCheckout (e.g. a payment link): nothing of ours to credit.
        log.warning("checkout session unknown to this server; ignored")
    return purchase


async def _purchase_for_payment(obj: Obj) -> Purchase:
    """The purchase a charge or dispute is about, through our metadata or the payment
    intent remembered when the session completed."""
    purchase_id = (obj.get("metadata") or {}).get("purchase_id")
    if purchase_id:
        found = await Purchase.filter(id=_uuid_or_none(purchase_id)).first()
        if found is not None:
            return found
    payment_intent = obj.get("payment_intent")
    if payment_intent:
        found = await Purchase.filter(payment_intent=str(payment_intent)).first()
        if found is not None:
            return found
    raise RetryLaterError("payment not known yet")


async def _remember_payment_intent(purchase: Purchase, payment_intent: str) -> None:
    if purchase.payment_intent != payment_intent:
        purchase.payment_intent = payment_intent
        await purchase.save(update_fields=["payment_intent"])


async def _credit(purchase: Purchase) -> None:
    credited = await ledger.top_up(
        purchase.account_id,  # type: ignore[attr-defined]
        purchase.credits,
        f"stripe:checkout:{purchase.session_id}",
    )
    if credited:
        purchase.paid_at = clock.now()
        await purchase.save(update_fields=["paid_at"])
        await events.record(
            events.EventType.CREDITS_PURCHASED,
            subject_id=purchase.id,
            account_id=purchase.account_id,  # type: ignore[attr-defined]
            payload={
                "credits": purchase.credits,
                "amount_cents": purchase.amount_cents,
                "currency": purchase.currency,
                "reference": str(purchase.id),
            },
        )


def _share(purchase: Purchase, amount_cents: int) -> int:
    """Credits matching ``amount_cents`` of the purchase's price, rounded up, at most all."""
    if purchase.amount_cents <= 0:
        return 0
    share = -(-purchase.credits * max(amount_cents, 0) // purchase.amount_cents)
    return min(share, purchase.credits)


def _uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


_HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _async_payment_succeeded,
    "checkout.session.async_payment_failed": _async_payment_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
