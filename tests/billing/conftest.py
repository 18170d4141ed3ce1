"""Fixtures for the billing tests: an open database, a Stripe stand-in, signed webhooks.

Stripe's servers cannot be reached from here, so ``stripe_stub`` is a local HTTP server
that answers the one endpoint we call (create a Checkout Session) the way Stripe does and
records every request; the app's ``NEURALL_STRIPE_API_BASE`` points the official library
at it. Webhooks are signed with the library's own signature code and a test secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import stripe
from aiohttp import web

from neurall.config import Settings, load_settings
from neurall.orm import database
from neurall.orm.accounts import Account

WEBHOOK_SECRET = "whsec_test_neurall"
STRIPE_KEY = "sk_test_neurall"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """Tortoise opened on each backend for domain-level tests (no HTTP)."""
    async with database.database(database_url):
        yield database_url


@pytest.fixture
async def account(db: str) -> Account:
    """An account with no credits (created directly, without the sign-up grant)."""
    return await Account.create(email="payer@example.com", password_hash="x")


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


@pytest.fixture
async def stripe_stub(aiohttp_server: Any) -> StripeStub:
    stub = StripeStub()
    app = web.Application()
    app.router.add_post("/v1/checkout/sessions", stub.create_session)
    server = await aiohttp_server(app)
    stub.url = str(server.make_url("")).rstrip("/")
    return stub


@pytest.fixture
def settings(tmp_path: Path, database_url: str, stripe_stub: StripeStub) -> Settings:
    """Billing configured, against the stand-in."""
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_stub.url,
    )


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
