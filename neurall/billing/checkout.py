"""``createCheckout``: validate the amount, create a Stripe Checkout Session, remember it.

Credits are never granted here: only a verified webhook (neurall.billing.webhooks) turns a
paid session into a TOP_UP.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from neurall.billing.payments import UNAVAILABLE_MESSAGE, CheckoutRequest, PaymentProvider
from neurall.config import Settings
from neurall.errors import BillingUnavailableError, InvalidInputError
from neurall.orm.accounts import Account
from neurall.orm.billing import Purchase


@dataclass(frozen=True)
class CheckoutResult:
    url: str
    credits: int


def _urls(settings: Settings) -> tuple[str, str]:
    success = settings.checkout_success_url or f"{settings.public_url}/?checkout=success"
    cancel = settings.checkout_cancel_url or f"{settings.public_url}/?checkout=cancel"
    return success, cancel


async def create_checkout(
    account: Account, credits: int, settings: Settings, provider: PaymentProvider
) -> CheckoutResult:
    """A Checkout page where the account can pay for ``credits`` credits.

    Raises BillingUnavailableError without a configured provider, InvalidInputError for
    an amount outside NEURALL_CHECKOUT_MIN_CREDITS..NEURALL_CHECKOUT_MAX_CREDITS.
    """
    if not provider.available:
        raise BillingUnavailableError(UNAVAILABLE_MESSAGE)
    low, high = settings.checkout_min_credits, settings.checkout_max_credits
    if not low <= credits <= high:
        raise InvalidInputError(f"Buy between {low} and {high} credits.", ["credits"])
    purchase_id = uuid.uuid4()
    success_url, cancel_url = _urls(settings)
    session = await provider.create_checkout_session(
        CheckoutRequest(
            account_id=str(account.id),
            purchase_id=str(purchase_id),
            credits=credits,
            unit_amount_cents=settings.credit_price_cents,
            currency=settings.credit_currency,
            success_url=success_url,
            cancel_url=cancel_url,
            # One key per logical request; the library's retries resend it unchanged.
            idempotency_key=f"neurall-checkout-{purchase_id}",
        )
    )
    await Purchase.create(
        id=purchase_id,
        account=account,
        session_id=session.id,
        credits=credits,
        amount_cents=session.amount_total,
        currency=session.currency,
    )
    return CheckoutResult(url=session.url, credits=credits)
