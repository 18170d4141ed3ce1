"""Fixtures for the billing tests: an open database, a Stripe stand-in, signed webhooks.

Stripe's servers cannot be reached from here, so ``stripe_stub`` (tests/support/stripe.py)
is a local HTTP server that answers the one endpoint we call (create a Checkout Session)
the way Stripe does and records every request; the app's ``NEURALL_STRIPE_API_BASE``
points the official library at it. Webhooks are signed with the library's own signature
code and a test secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neurall.config import Settings, load_settings
from neurall.orm import database
from neurall.orm.accounts import Account
from tests.support.stripe import STRIPE_KEY, WEBHOOK_SECRET, StripeStub


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """Tortoise opened on each backend for domain-level tests (no HTTP)."""
    async with database.database(database_url):
        yield database_url


@pytest.fixture
async def account(db: str) -> Account:
    """An account with no credits (created directly, without the sign-up grant)."""
    return await Account.create(email="payer@example.com", password_hash="x")


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
