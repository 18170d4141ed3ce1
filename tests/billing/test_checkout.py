"""createCheckout through the official stripe library against the local stand-in."""

from __future__ import annotations

import pytest

from neurall.app import create_app
from neurall.config import load_settings
from neurall.orm.billing import Purchase
from tests.support.factories import create_key, sign_up
from tests.support.graphql import GraphQLClient
from tests.support.stripe import STRIPE_KEY, checkout

pytestmark = pytest.mark.usefixtures("database_url")


async def test_checkout_session_request_carries_amount_account_and_idempotency_key(
    client, stripe_stub
):
    account = await sign_up(client)
    result = await checkout(client, 500)
    assert result == {
        "__typename": "Checkout",
        "url": "https://checkout.stripe.test/c/pay/cs_test_1",
        "credits": 500,
    }
    [sent] = stripe_stub.requests
    form, headers = sent["form"], sent["headers"]
    assert headers["Authorization"] == f"Bearer {STRIPE_KEY}"
    assert headers["Idempotency-Key"].startswith("neurall-checkout-")
    assert form["mode"] == "payment"
    assert form["line_items[0][quantity]"] == "500"
    assert form["line_items[0][price_data][unit_amount]"] == "1"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["client_reference_id"] == account["id"]
    assert form["metadata[account_id]"] == account["id"]
    assert form["metadata[credits]"] == "500"
    assert form["payment_intent_data[metadata][account_id]"] == account["id"]
    assert form["success_url"].startswith("http://127.0.0.1:8000/")
    purchase = await Purchase.get(session_id="cs_test_1")
    assert (purchase.credits, purchase.amount_cents, purchase.currency) == (500, 500, "usd")
    assert str(purchase.account_id) == account["id"]  # type: ignore[attr-defined]
    assert headers["Idempotency-Key"] == f"neurall-checkout-{purchase.id}"


async def test_each_checkout_uses_its_own_idempotency_key(client, stripe_stub):
    await sign_up(client)
    await checkout(client, 100)
    await checkout(client, 100)
    keys = {r["headers"]["Idempotency-Key"] for r in stripe_stub.requests}
    assert len(keys) == 2


@pytest.mark.parametrize("credits", [0, 99, 100_001, -5])
async def test_out_of_bounds_amounts_are_invalid_input(client, stripe_stub, credits):
    await sign_up(client)
    result = await checkout(client, credits)
    assert result["__typename"] == "InvalidInput"
    assert result["fields"] == ["credits"]
    assert result["errors"] == [
        {"field": "credits", "message": "Buy between 100 and 100000 credits."}
    ]
    assert stripe_stub.requests == []


async def test_without_stripe_settings_billing_is_unavailable(
    aiohttp_client, tmp_path, database_url
):
    plain = load_settings(data_dir=tmp_path / "plain", database_url=database_url)
    client = GraphQLClient(await aiohttp_client(create_app(plain)))
    await sign_up(client)
    for credits in (500, 5):
        result = await checkout(client, credits)
        assert result["__typename"] == "BillingUnavailable"
        assert result["code"] == "BILLING_UNAVAILABLE"


PRICE = "{ creditPrice { available unavailableReason unitAmount currency minCredits maxCredits } }"
CLONE_COST = "query($n: Int!, $s: Int) { estimateCloneCost(images: $n, trainingSteps: $s) }"


async def test_the_price_and_whether_buying_works_are_public(
    client, stripe_stub, aiohttp_client, tmp_path, database_url
):
    # No sign-in needed: the playground says it before anyone clicks.
    assert (await client.data(PRICE))["creditPrice"] == {
        "available": True,
        "unavailableReason": None,
        "unitAmount": 1,
        "currency": "usd",
        "minCredits": 100,
        "maxCredits": 100_000,
    }
    plain = load_settings(data_dir=tmp_path / "plain", database_url=database_url)
    without = GraphQLClient(await aiohttp_client(create_app(plain)))
    price = (await without.data(PRICE))["creditPrice"]
    assert price["available"] is False
    assert price["unavailableReason"] == "Buying credits is not available on this server."
    # Clone training is priced before it starts: steps x photos / 200, at least 1.
    assert (await client.data(CLONE_COST, {"n": 4, "s": 100}))["estimateCloneCost"] == 2
    assert (await client.data(CLONE_COST, {"n": 3, "s": 1}))["estimateCloneCost"] == 1


async def test_checkout_needs_a_session(client, stripe_stub):
    assert (await checkout(client, 500))["__typename"] == "NotAuthenticated"
    await sign_up(client)
    key = await create_key(client)
    client.http.session.cookie_jar.clear()
    assert (await checkout(client, 500, api_key=key))["__typename"] == "NotAuthenticated"
    assert stripe_stub.requests == []
