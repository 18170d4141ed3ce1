"""Credits: ``creditLedger`` and ``createCheckout``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from neurall.accounts.verification import require_verified
from neurall.accounts.viewer import Scope
from neurall.billing import checkout, history
from neurall.billing.payments import UNAVAILABLE_MESSAGE
from neurall.errors import DomainError
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    BillingUnavailable,
    InvalidInput,
    NotAuthenticated,
    PublicError,
    returns_user_errors,
)
from neurall.graphql.pagination import PageInfo, clamp_first, page_info
from neurall.graphql.permissions import require_scope, require_signed_in
from neurall.orm import billing as orm
from neurall.orm.pages import cursor_of


@strawberry.enum(description="What caused a ledger entry.")
class LedgerKind(Enum):
    TOP_UP = strawberry.enum_value("TOP_UP", description="Credits bought through Stripe.")
    GRANT = strawberry.enum_value("GRANT", description="Free credits (sign-up, support).")
    HOLD = strawberry.enum_value("HOLD", description="Credits reserved by queued work.")
    RELEASE = strawberry.enum_value("RELEASE", description="Unused reserved credits freed.")
    CHARGE = strawberry.enum_value("CHARGE", description="Credits spent by finished work.")
    REFUND = strawberry.enum_value("REFUND", description="Credits given back for a charge.")
    CHARGEBACK = strawberry.enum_value(
        "CHARGEBACK", description="Credits taken back after a refund or payment dispute."
    )
    ADJUSTMENT = strawberry.enum_value("ADJUSTMENT", description="A correction.")


@strawberry.type(description="One change to the account's credits.")
class LedgerEntry:
    id: strawberry.ID
    kind: LedgerKind
    amount: int = strawberry.field(
        description="Signed change to the balance, in credits. Zero for HOLD and RELEASE, "
        "which change only the held credits (see heldChange)."
    )
    balance_after: int
    held_change: int = strawberry.field(description="Signed change to the held credits.")
    held_after: int = strawberry.field(description="Held credits after this entry.")
    job_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def from_model(cls, entry: orm.LedgerEntry) -> LedgerEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            kind=LedgerKind(entry.kind),
            amount=entry.amount,
            balance_after=entry.balance_after,
            held_change=entry.held_change,
            held_after=entry.held_after,
            job_id=strawberry.ID(str(entry.job_id)) if entry.job_id else None,
            created_at=entry.created_at,
        )


@strawberry.type
class LedgerEdge:
    cursor: str
    node: LedgerEntry


@strawberry.type(description="A page of ledger entries, newest first.")
class LedgerConnection:
    edges: list[LedgerEdge]
    page_info: PageInfo


@strawberry.type(description="A Stripe Checkout page that sells credits.")
class Checkout:
    url: str = strawberry.field(description="Stripe Checkout page to send the user to.")
    credits: int


CheckoutResult = Annotated[
    # Only a signed-in person may buy credits: an API key gets NotAuthenticated.
    Checkout | InvalidInput | NotAuthenticated | BillingUnavailable,
    strawberry.union("CheckoutResult"),
]


@strawberry.type(description="What buying credits costs here, and whether it is possible.")
class CreditPrice:
    available: bool = strawberry.field(
        description="False when no payment provider is configured: createCheckout then "
        "answers BillingUnavailable."
    )
    unavailable_reason: str | None = strawberry.field(
        description="Why buying is not available, as createCheckout would say it."
    )
    unit_amount: int = strawberry.field(
        description="Price of one credit in the currency's smallest unit (e.g. cents)."
    )
    currency: str = strawberry.field(description="ISO currency code, lower case.")
    min_credits: int = strawberry.field(description="Fewest credits one checkout sells.")
    max_credits: int = strawberry.field(description="Most credits one checkout sells.")


@strawberry.type
class BillingQuery:
    @strawberry.field(description="The price of credits and the checkout bounds. Needs no sign-in.")
    def credit_price(self, info: Info) -> CreditPrice:
        services = info.context.services
        settings = services.settings
        available = bool(services.payments.available)
        return CreditPrice(
            available=available,
            unavailable_reason=None if available else UNAVAILABLE_MESSAGE,
            unit_amount=settings.credit_price_cents,
            currency=settings.credit_currency,
            min_credits=settings.checkout_min_credits,
            max_credits=settings.checkout_max_credits,
        )

    @strawberry.field(description="The caller's credit ledger, newest first (at most 100).")
    async def credit_ledger(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> LedgerConnection:
        try:
            viewer = require_scope(info, Scope.READ)
            rows, more = await history.ledger_page(viewer.account.id, clamp_first(first, 50), after)
        except DomainError as exc:
            raise PublicError(exc) from None
        edges = [LedgerEdge(cursor=cursor_of(e), node=LedgerEntry.from_model(e)) for e in rows]
        return LedgerConnection(
            edges=edges,
            page_info=page_info(edges, more),
        )


@strawberry.type
class BillingMutation:
    @strawberry.mutation(description="Starts buying credits; credits arrive once Stripe confirms.")
    @returns_user_errors
    async def create_checkout(self, info: Info, credits: int) -> CheckoutResult:
        viewer = require_signed_in(info)
        services = info.context.services
        try:
            require_verified(viewer.account, services.settings, "buy credits")
        except DomainError as exc:
            # The contract's CheckoutResult has no Forbidden member: a FORBIDDEN error.
            raise PublicError(exc) from None
        result = await checkout.create_checkout(
            viewer.account, credits, services.settings, services.payments
        )
        return Checkout(url=result.url, credits=result.credits)
