"""Every main page: accessibility (axe-core: no serious or critical violation), a
screenshot at a phone's width and a desktop's, and the pieces every page shares."""

from __future__ import annotations

import re
from typing import Any

import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.support.browser import DESKTOP, PHONE, SCREENSHOTS, Server, gql, screenshot
from tests.support.graphql import PASSWORD
from tests.support.poll import until_sync

BLOCKING = {"serious", "critical"}

GENERATE = """mutation($i: GenerateInput!) { generate(input: $i) { ... on Job { id } } }"""
JOB = "query($id: ID!) { job(id: $id) { status } }"


def _seed(page: Page, server: Server) -> str:
    """Something to show: a finished image in the history, and an API key that was used."""
    job = gql(page, GENERATE, {"i": {"prompt": "a quiet harbour at dusk", "steps": 8}})
    job_id = job["generate"]["id"]
    key = gql(page, 'mutation { createApiKey(name: "laptop") { ... on CreatedApiKey { secret } } }')
    for _ in range(3):
        requests.post(
            f"{server.base}/graphql",
            json={"query": "{ me { credits } }"},
            headers={"Authorization": f"Bearer {key['createApiKey']['secret']}"},
            timeout=15,
        ).raise_for_status()
    until_sync(
        lambda: gql(page, JOB, {"id": job_id})["job"]["status"],
        lambda status: status == "SUCCEEDED",
        within=90,
        every=0.3,
        what="the seed job finishing",
    )
    return job_id


def _check(page: Page, axe: Axe, name: str, problems: list[str]) -> None:
    """axe on the page as it is now, then the two screenshots."""
    results: dict[str, Any] = axe.run(page).response
    for violation in results["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [node["target"] for node in violation["nodes"]][:3]
            problems.append(f"{name}: {violation['id']} ({violation['impact']}) {targets}")
    screenshot(page, name)


def test_every_main_page_is_accessible_and_photographed(verified: Page, server: Server) -> None:
    page = verified
    job_id = _seed(page, server)
    axe = Axe()
    problems: list[str] = []
    pages = [
        ("generate", "/", "Generate"),
        ("history", "/history", "History"),
        ("history-detail", f"/history/{job_id}", "a quiet harbour at dusk"),
        ("clones", "/clones", "Clones"),
        ("keys", "/keys", "API keys"),
        ("webhooks", "/webhooks", "Webhooks"),
        ("credits", "/credits", "Credits"),
        ("usage", "/usage", "Usage"),
        ("privacy", "/privacy", "Privacy"),
        ("account", "/account", "Account"),
        ("explorer", "/explorer", "API explorer"),
    ]
    for name, path, heading in pages:
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(page.locator("[aria-busy=true]")).to_have_count(0)
        # Shared by every page: the privacy widget and the cookie notice.
        expect(page.get_by_role("button", name="Privacy requests")).to_be_visible()
        expect(page.locator(".site-footer")).to_contain_text("one strictly necessary cookie")
        if name == "history":
            page.wait_for_function("() => document.querySelector('.gallery-item img')?.complete")
        if name == "credits":
            # The ledger's rows name the job they belong to.
            ledger = page.locator("table.ledger")
            expect(ledger.get_by_text(f"job {job_id[:8]}").first).to_be_visible()
        if name == "explorer":
            expect(page.locator(".graphiql-query-editor textarea")).to_have_attribute(
                "aria-label", "Query editor"
            )
        _check(page, axe, name, problems)

    # The privacy widget opened, on a phone too.
    page.goto("/")
    page.get_by_role("button", name="Privacy requests").click()
    expect(page.get_by_role("link", name="Delete my account")).to_be_visible()
    _check(page, axe, "privacy-widget", problems)

    # The phone's menu, opened.
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="API keys")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "menu-phone.png")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Neurall")).to_be_visible()
    _check(page, axe, "login", problems)
    page.goto("/signup")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    _check(page, axe, "signup", problems)
    # The forgotten-password pages (their flow is in test_playground_email.py); without the
    # mailed link, the second says where to get one.
    page.goto("/forgot-password")
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    _check(page, axe, "forgot-password", problems)
    page.goto("/reset-password")
    expect(page.get_by_role("link", name="ask for a new link")).to_be_visible()
    _check(page, axe, "reset-password-no-link", problems)
    page.get_by_role("button", name="Privacy requests").click()
    expect(page.get_by_role("link", name="Reset your password")).to_be_visible()
    _check(page, axe, "privacy-widget-signed-out", problems)
    assert not problems, "\n".join(problems)


def test_keyboard_alone_reaches_the_app(verified: Page, server: Server) -> None:
    page = verified  # no banner: the model picker is the first field after the skip link
    page.reload()
    page.get_by_role("heading", name="Generate", level=1).wait_for()
    # The picker is off (out of the tab order) until the models are read; only then is the
    # form's order final.
    expect(page.get_by_label("Model", exact=True)).to_be_enabled()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    # The fragment's navigation moves focus to the content; a Tab before it lands would
    # leave from the skip link instead (as quickly as no person types).
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Model", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Prompt", exact=True)).to_be_focused()
    page.keyboard.type("a paper boat")
    # The dialogs trap focus and Escape closes them.
    page.goto("/history")
    page.goto(f"/history/{_seed(page, server)}")
    page.get_by_role("button", name="Delete").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_billing_unavailable_and_the_checkout_returns_are_plain_sentences(
    verified: Page,
) -> None:
    page = verified
    page.get_by_role("link", name="Credits", exact=True).click()
    expect(page.get_by_test_id("credits-available")).to_have_text("1,000")
    # This server has no Stripe settings: said up front, and the button is off.
    expect(page.get_by_test_id("billing-unavailable")).to_contain_text(
        "Buying credits is not available on this server."
    )
    expect(page.get_by_role("button", name="Buy credits")).to_be_disabled()
    # The allowed range is shown before anything is typed, and checked as it is typed.
    expect(page.get_by_text("From 100 to 100,000 credits at a time.")).to_be_visible()
    for wrong in ("0", "50", "-5"):
        page.get_by_label("Credits to buy").fill(wrong)
        expect(page.get_by_text("Buy between 100 and 100,000 credits.")).to_be_visible()
    page.get_by_label("Credits to buy").fill("500")
    expect(page.get_by_text("500 credits cost $5.00.")).to_be_visible()
    page.goto("/?checkout=cancel")
    expect(page.get_by_role("status").filter(has_text="Checkout was canceled")).to_be_visible()
    page.goto("/?checkout=success")
    expect(page.get_by_role("status").filter(has_text="payment went through")).to_be_visible()
    page.get_by_role("button", name="Dismiss").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_a_new_users_walk_sign_up_not_found_and_the_privacy_widget(
    page: Page, server: Server, email: str
) -> None:
    # A path the app does not know (or a bare server segment) is the app's own page.
    page.goto("/no-such-page")
    expect(page.get_by_role("heading", name="Page not found", level=1)).to_be_visible()
    page.goto("/signup")
    # An empty form flags every missing field; marketing e-mail is on by default, said
    # plainly, with its switch.
    page.locator("#main").get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Enter your e-mail address.")).to_be_visible()
    expect(page.get_by_text("Choose a password of at least 10 characters.")).to_be_visible()
    marketing = page.get_by_role("switch", name="Send me news and offers")
    expect(marketing).to_be_checked()
    expect(page.get_by_text("Marketing e-mail is on by default")).to_be_visible()
    marketing.uncheck()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("#main").get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Generate", level=1).wait_for()
    assert gql(page, "{ me { marketingOptIn } }")["me"] == {"marketingOptIn": False}
    page.goto("/images")
    expect(page.get_by_role("heading", name="Page not found", level=1)).to_be_visible()

    # Escape closes the privacy widget and gives focus back to its button.
    button = page.get_by_role("button", name="Privacy requests")
    button.click()
    expect(page.get_by_role("link", name="Download a copy of my data")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Privacy requests")).to_be_focused()
    # On a desktop it floats beside the cookie notice, never over it; on a phone it takes
    # its place at the end of the page instead of floating over form rows.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    notice = page.locator(".site-footer p").bounding_box()
    box = button.bounding_box()
    assert notice
    assert box
    beside = box["x"] >= notice["x"] + notice["width"]
    assert beside or box["y"] >= notice["y"] + notice["height"], (box, notice)
    page.set_viewport_size(PHONE)
    position = button.evaluate("b => getComputedStyle(b.parentElement).position")
    assert position == "static"


def test_the_api_explorer_is_bundled_and_lazy(signed_in: Page) -> None:
    page = signed_in
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.reload()
    expect(page.get_by_role("heading", name="Generate", level=1)).to_be_visible()
    assert not any("Explorer" in url for url in scripts), "GraphiQL loads only when opened"
    page.get_by_role("link", name="API explorer").click()
    expect(page.locator(".graphiql-container")).to_be_visible()
    assert any("Explorer" in url for url in scripts)
    expect(page.locator(".graphiql-query-editor")).to_contain_text("query Me")
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(page.locator(".result-window")).to_contain_text("credits")
    # A browser opening /graphql lands on the same explorer (it works offline).
    page.goto("/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "explorer-desktop.png")


def test_history_scrolls_in_pages_and_clears_with_a_confirmation(signed_in: Page) -> None:
    page = signed_in
    ids = [
        gql(page, GENERATE, {"i": {"prompt": f"tile {n}", "steps": 1}})["generate"]["id"]
        for n in range(26)
    ]
    until_sync(
        lambda: gql(page, JOB, {"id": ids[-1]})["job"]["status"],
        lambda status: status == "SUCCEEDED",
        within=180,
        every=0.5,
        what="the last of the jobs finishing",
    )
    page.get_by_role("link", name="History").click()
    items = page.locator(".gallery-item")
    # The first page (24); the next may follow at once when the end of a gallery whose
    # images are still loading is already within the scroll margin.
    expect(items.nth(23)).to_be_attached()
    expect(items.first).to_have_attribute("aria-label", re.compile("^tile 25,"))
    items.last.scroll_into_view_if_needed()
    page.mouse.wheel(0, 5000)
    expect(items).to_have_count(26)  # the next page, loaded by scrolling
    expect(items.last).to_have_attribute("aria-label", re.compile("^tile 0,"))
    page.get_by_role("button", name="Clear all").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Delete everything").click()
    expect(page.get_by_text("Deleted 26 items and their images.")).to_be_visible()
    expect(page.get_by_text("Nothing here yet")).to_be_visible()
    page.reload()
    expect(page.get_by_text("Nothing here yet")).to_be_visible()
