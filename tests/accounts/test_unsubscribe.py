"""Marketing opt-out through a signed link: no login, RFC 8058 one-click, no forgery."""

from __future__ import annotations

import uuid

import pytest

from neurall.accounts.unsubscribe import unsubscribe_token, unsubscribe_url
from neurall.orm.accounts import Account
from tests.support.factories import sign_up

pytestmark = pytest.mark.usefixtures("database_url")


async def _account_and_token(client, settings) -> tuple[Account, str]:
    await sign_up(client)
    client.http.session.cookie_jar.clear()  # the link works without logging in
    account = await Account.get()
    assert account.marketing_opt_in is True
    return account, unsubscribe_token(settings.secret_key.get_secret_value(), account.id)


async def test_clicking_the_link_opts_out_without_login(client, settings):
    account, token = await _account_and_token(client, settings)
    response = await client.http.get("/unsubscribe", params={"token": token})
    assert response.status == 200
    assert "no longer" in await response.text()
    assert (await Account.get(id=account.id)).marketing_opt_in is False
    # Clicking again is harmless.
    assert (await client.http.get("/unsubscribe", params={"token": token})).status == 200


async def test_one_click_post(client, settings):
    account, token = await _account_and_token(client, settings)
    response = await client.http.post(
        "/unsubscribe",
        params={"token": token},
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    assert (await Account.get(id=account.id)).marketing_opt_in is False


async def test_the_url_carries_the_token(settings):
    account_id = uuid.uuid4()
    url = unsubscribe_url(settings.public_url, settings.secret_key.get_secret_value(), account_id)
    assert url.startswith(f"{settings.public_url}/unsubscribe?token={account_id.hex}.")


@pytest.mark.parametrize(
    "tamper", ["signature", "non-ascii", "account", "empty", "garbage", "other-key"]
)
async def test_tampered_tokens_are_rejected_and_change_nothing(client, settings, tamper):
    account, token = await _account_and_token(client, settings)
    account_hex, signature = token.split(".")
    other = Account(id=uuid.uuid4())
    bad = {
        "signature": f"{account_hex}.{signature[:-2]}xx",
        "non-ascii": f"{account_hex}.{signature[:-2]}éé",
        "account": f"{other.id.hex}.{signature}",
        "empty": "",
        "garbage": "not-a-token",
        "other-key": unsubscribe_token("another-secret", account.id),
    }[tamper]
    response = await client.http.get("/unsubscribe", params={"token": bad})
    assert response.status == 400
    assert (await Account.get(id=account.id)).marketing_opt_in is True
