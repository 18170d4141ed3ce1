"""What an integrator and a careful user set up: an API key's spend limit (set, reached,
cleared), the notice switches and the low-credit threshold, and the API explorer opened
without a session, with a key kept in the page's memory and the schema's docs."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import Server, gql, screenshot, serious_violations

GENERATE = """mutation($i: GenerateInput!) {
  generate(input: $i) {
    __typename
    ... on UserError { message }
    ... on SpendLimitReached { limit spent }
  }
}"""
ESTIMATE = "query($i: GenerateInput!) { estimateCost(input: $i) }"
SMALL = {"prompt": "a lighthouse", "steps": 2, "width": 64, "height": 64}


def _api(server: Server, key: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(
        f"{server.base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]


def test_a_key_spend_limit_refuses_past_it_and_the_explorer_takes_the_key(
    verified: Page, server: Server, browser: Browser
) -> None:
    page = verified
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("shop")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("secret").input_value()
    page.get_by_role("button", name="I have stored it safely").click()
    row = page.get_by_test_id("api-key-row").filter(has_text="shop")
    expect(row.get_by_test_id("spend-limit")).to_have_text("No limit")

    # A cap of exactly one job's price: the first job fits, the second is refused.
    price = gql(page, ESTIMATE, {"i": SMALL})["estimateCost"]
    page.get_by_role("button", name="Spend limit of shop").click()
    page.get_by_label("Credits", exact=True).fill("0")
    page.get_by_role("button", name="Save limit").click()
    expect(page.get_by_text("Enter a whole number of credits, 1 or more.")).to_be_visible()
    page.get_by_label("Credits", exact=True).fill(str(price))
    page.get_by_role("button", name="Save limit").click()
    expect(page.get_by_role("status").filter(has_text="Saved:")).to_be_visible()
    expect(row.get_by_test_id("spend-limit")).to_contain_text(
        re.compile(rf"^0 of {price} credits? per day")
    )
    expect(row.get_by_test_id("spend-limit")).to_contain_text("resets")
    first = _api(server, secret, GENERATE, {"i": SMALL})["generate"]
    assert first["__typename"] == "Job", first
    refused = _api(server, secret, GENERATE, {"i": SMALL})["generate"]
    assert refused["__typename"] == "SpendLimitReached", refused
    assert refused["limit"] == price
    page.reload()
    expect(row.get_by_test_id("spend-limit")).to_contain_text(
        re.compile(rf"^{price} of {price} credits?")
    )
    page.get_by_role("button", name="Spend limit of shop").click()
    assert not serious_violations(page)
    screenshot(page, "keys-spend-limit")
    page.get_by_role("button", name="Remove limit").click()
    expect(row.get_by_test_id("spend-limit")).to_have_text("No limit")

    # The explorer, signed out in another browser: the docs without a key, then the key.
    anonymous = browser.new_context(base_url=server.base, viewport={"width": 1280, "height": 900})
    other = anonymous.new_page()
    elsewhere: list[str] = []
    other.on("request", lambda r: r.url.startswith(server.base) or elsewhere.append(r.url))
    other.goto("/explorer")
    expect(other.locator(".graphiql-container")).to_be_visible()
    other.get_by_role("button", name="Show Documentation Explorer").click()
    expect(other.locator(".graphiql-doc-explorer")).to_contain_text("Query")
    other.get_by_label("API key").fill(secret)
    expect(other.get_by_text("Requests are sent with this key")).to_be_visible()
    # The editors load in chunks of their own: run only once the query is in place.
    expect(other.locator(".graphiql-query-editor")).to_contain_text("query Me")
    other.get_by_role("button", name=re.compile("Execute query")).click()
    expect(other.locator(".result-window")).to_contain_text('"credits"')
    screenshot(other, "explorer-signed-out")
    stored = other.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert secret not in stored, "the key is kept in memory only"
    assert not serious_violations(other)
    assert not elsewhere, elsewhere
    anonymous.close()


def test_notice_switches_and_the_low_credit_threshold_are_saved(signed_in: Page) -> None:
    page = signed_in
    page.goto("/account")
    switch = page.get_by_role("switch", name="Your credits are running low")
    expect(switch).to_be_checked()
    switch.uncheck()
    expect(page.get_by_role("status").filter(has_text="Off:")).to_be_visible()
    page.get_by_label("Low-credit threshold").fill("250")
    page.get_by_role("button", name="Save threshold").click()
    expect(page.get_by_text("fall below 250")).to_be_visible()
    page.reload()
    expect(page.get_by_role("switch", name="Your credits are running low")).not_to_be_checked()
    expect(page.get_by_role("switch", name="A clone finished training (or failed)")).to_be_checked()
    expect(page.get_by_label("Low-credit threshold")).to_have_value("250")
    me = gql(page, "{ me { lowCreditThreshold emailNotices } }")["me"]
    assert me == {"lowCreditThreshold": 250, "emailNotices": ["CLONES", "RECEIPTS"]}
