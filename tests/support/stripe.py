"""Stripe, as the billing tests see it: a local stand-in for its API (``StripeStub``; the
``stripe_stub`` fixture serves it), webhook events signed with the library's own code, and
a checkout through the API."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import stripe
from aiohttp import web

WEBHOOK_SECRET = "whsec_test_neurall"
STRIPE_KEY = "sk_test_neurall"
CREATE_CHECKOUT = """
mutation($credits: Int!) {
  createCheckout(credits: $credits) {
    __typename
    ... on Checkout { url credits }
    ... on UserError { code message }
    ... on InvalidInput { fields errors { field message } }
  }
}
"""


@dataclass
class StripeStub:
    """Records requests; answers POST /v1/checkout/sessions like Stripe (idempotently)."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    sessions_by_key: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def create_session(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append({"headers": dict(request.headers), "form": form})
        key = request.headers.get("Idempotency-Key", "")
        if key not in self.sessions_by_key:
            n = len(self.sessions_by_key) + 1
            quantity = int(str(form["line_items[0][quantity]"]))
            unit = int(str(form["line_items[0][price_data][unit_amount]"]))
            self.sessions_by_key[key] = {
                "id": f"cs_test_{n}",
                "object": "checkout.session",
                "mode": "payment",
                "url": f"https://checkout.stripe.test/c/pay/cs_test_{n}",
                "amount_total": quantity * unit,
                "currency": form["line_items[0][price_data][currency]"],
                "client_reference_id": form.get("client_reference_id"),
                "payment_status": "unpaid",
            }
        return web.json_response(self.sessions_by_key[key])


def signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, age_s: int = 0
) -> tuple[str, str]:
    """The body and Stripe-Signature header Stripe would send for ``event``."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=int(time.time()) - age_s
    )
    return body, header


def event(event_id: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
    }


async def checkout(client: Any, credits: int, **kw: Any) -> dict:
    """The createCheckout answer for ``credits``."""
    return (await client.data(CREATE_CHECKOUT, {"credits": credits}, **kw))["createCheckout"]
