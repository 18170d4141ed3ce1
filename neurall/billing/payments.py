"""The payment provider behind ``createCheckout``: Stripe, or none.

``payment_provider(settings)`` picks the implementation: ``StripePayments`` when both
Stripe secrets are set, otherwise ``NoPayments``, which answers every request with
BillingUnavailable (the embedded default: credits then come only from grants).

``NEURALL_STRIPE_API_BASE`` points the official library at another server; the tests use
a local stand-in that records the requests, since Stripe's servers cannot be reached here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import stripe

from neurall.config import Settings
from neurall.errors import BillingUnavailableError

UNAVAILABLE_MESSAGE = "Buying credits is not available on this server."
# Network retries reuse the request's Idempotency-Key, so a retried create never makes a
# second session.
_NETWORK_RETRIES = 2
_TIMEOUT_S = 20


@dataclass(frozen=True)
class CheckoutRequest:
    account_id: str
    purchase_id: str
    credits: int
    unit_amount_cents: int
    currency: str
    success_url: str
    cancel_url: str
    idempotency_key: str


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    amount_total: int
    currency: str


class PaymentProvider(Protocol):
    #: False when no provider is configured: every request would be BillingUnavailable.
    available: bool

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession: ...


class NoPayments:
    """No payment provider configured."""

    available = False

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        raise BillingUnavailableError(UNAVAILABLE_MESSAGE)


class StripePayments:
    """Stripe Checkout through the official library's async client."""

    available = True

    def __init__(self, secret_key: str, api_base: str = "") -> None:
        self._secret_key = secret_key
        self._api_base = api_base

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        # A client per call: checkouts are rare, and this leaves no session to close at
        # shutdown.
        http = stripe.AIOHTTPClient(timeout=_TIMEOUT_S)
        client = stripe.StripeClient(
            self._secret_key,
            base_addresses={"api": self._api_base} if self._api_base else None,
            http_client=http,
            max_network_retries=_NETWORK_RETRIES,
        )
        metadata = {
            "account_id": request.account_id,
            "purchase_id": request.purchase_id,
            "credits": str(request.credits),
        }
        try:
            session = await client.v1.checkout.sessions.create_async(
                {
                    "mode": "payment",
                    "client_reference_id": request.account_id,
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "line_items": [
                        {
                            "quantity": request.credits,
                            "price_data": {
                                "currency": request.currency,
                                "unit_amount": request.unit_amount_cents,
                                "product_data": {"name": "Neurall credits"},
                            },
                        }
                    ],
                    "success_url": request.success_url,
                    "cancel_url": request.cancel_url,
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            # Stripe's message may echo request details; the log keeps only the kind.
            raise BillingUnavailableError(
                f"The payment provider refused the request ({type(exc).__name__})."
            ) from None
        finally:
            await http.close_async()
        if not session.url:
            raise BillingUnavailableError("The payment provider returned no checkout page.")
        return CheckoutSession(
            id=session.id,
            url=session.url,
            amount_total=session.amount_total or request.credits * request.unit_amount_cents,
            currency=session.currency or request.currency,
        )


def billing_configured(settings: Settings) -> bool:
    return bool(
        settings.stripe_secret_key.get_secret_value()
        and settings.stripe_webhook_secret.get_secret_value()
    )


def payment_provider(settings: Settings) -> PaymentProvider:
    if not billing_configured(settings):
        return NoPayments()
    return StripePayments(settings.stripe_secret_key.get_secret_value(), settings.stripe_api_base)
