"""The e-mailed links in the browser, with the mail read from the embedded outbox: confirming
a new account's address (signed in or not), an address change confirmed from the new inbox,
and a forgotten password reset from the log-in page. The shared server requires a confirmed
address for API keys, as production does."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.support.browser import Server, mailed_link, me, screenshot, serious_violations
from tests.support.graphql import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def test_a_new_user_confirms_the_address_from_the_mailed_link(
    signed_in: Page, context: BrowserContext, server: Server, email: str
) -> None:
    page = signed_in
    banner = page.get_by_test_id("verify-banner")
    expect(banner).to_contain_text(email)
    screenshot(page, "verify-banner")
    page.get_by_role("link", name="API keys").click()
    expect(banner).to_be_visible()  # on every page
    page.get_by_label("Name").fill("before")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("alert")).to_contain_text("Confirm your e-mail address")

    page.get_by_role("link", name=email).click()
    expect(page.get_by_test_id("email-status")).to_contain_text("Not confirmed yet")
    banner.get_by_role("button", name="Send the link again").click()
    expect(banner.get_by_role("status")).to_have_text("A confirmation link is on its way.")
    screenshot(page, "account-unconfirmed")
    assert not serious_violations(page)  # the banner and the address's state

    # Opened where nobody is signed in (another browser, a phone's mail app).
    link = mailed_link(server, email, "verify-email")
    elsewhere = context.browser.new_context(base_url=server.base)  # type: ignore[union-attr]
    other = elsewhere.new_page()
    other.goto(link)
    outcome = other.get_by_test_id("verify-outcome")
    expect(outcome).to_contain_text(f"Your e-mail address {email} is confirmed.")
    expect(other).to_have_url(re.compile(r"/$"))  # the token left the address bar
    screenshot(other, "verify-done-signed-out")
    assert not serious_violations(other)
    # A link works once, and says so.
    other.goto(link)
    expect(outcome).to_contain_text("This link was already used.")
    expect(outcome.get_by_role("link", name="Log in")).to_be_visible()
    elsewhere.close()

    page.reload()
    expect(page.get_by_test_id("email-status")).to_contain_text("Confirmed")
    expect(banner).to_have_count(0)
    assert me(page)["emailVerified"] is True
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("after")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("secret-panel")).to_contain_text("only time it is shown")


def test_an_address_change_is_pending_until_confirmed_from_the_new_inbox(
    signed_in: Page, server: Server, email: str
) -> None:
    page = signed_in
    new = email.replace("@", ".new@")
    page.get_by_role("link", name=email).click()
    page.get_by_label("E-mail", exact=True).fill(new)
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").filter(has_text="Confirm the new address")).to_contain_text(
        f"link we sent to {new}; until then, {email} stays your address"
    )
    expect(page.get_by_label("E-mail", exact=True)).to_have_value(email)
    page.reload()
    pending = page.get_by_test_id("pending-email")
    expect(pending).to_contain_text(
        f"Change to {new} pending: confirm it from the link sent to {new}"
    )
    expect(page.get_by_role("link", name=email)).to_be_visible()
    screenshot(page, "account-pending-change")
    assert not serious_violations(page)

    # Signed in, on the phone: the link changes the address and says so.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(mailed_link(server, new, "verify-email"))
    expect(page.get_by_test_id("verify-outcome")).to_contain_text(
        f"Your e-mail address is now {new}."
    )
    expect(page.locator(".account-link")).to_have_text(new)  # in the folded menu
    screenshot(page, "verify-done-address-changed")
    page.goto("/account")
    expect(page.get_by_test_id("email-status")).to_contain_text(new)
    expect(page.get_by_test_id("email-status")).to_contain_text("Confirmed")
    expect(pending).to_have_count(0)
    assert (me(page)["email"], me(page)["pendingEmail"]) == (new, None)


def test_a_forgotten_password_is_reset_through_the_mailed_link(
    signed_in: Page, server: Server, email: str
) -> None:
    page = signed_in
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Neurall")).to_be_visible()
    # Signed out, the privacy widget says how to reach the data without the password.
    page.get_by_role("button", name="Privacy requests").click()
    expect(page.get_by_role("link", name="Reset your password")).to_be_visible()
    page.get_by_role("button", name="Close").click()

    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password$"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    answer = page.get_by_role("status")
    expect(answer).to_contain_text("If an account has this address")
    said = answer.inner_text()
    screenshot(page, "forgot-password-sent")
    # An address nobody has gets the very same answer.
    page.get_by_role("button", name="Try another address").click()
    page.get_by_label("E-mail").fill("nobody-" + email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_have_text(said)

    page.goto(mailed_link(server, email, "reset-password"))
    expect(page).to_have_url(re.compile(r"/reset-password$"))  # no token in the address bar
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    screenshot(page, "reset-password")
    assert not serious_violations(page)
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator(".field-error")).to_have_text("Passwords are 10 to 256 characters long.")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_contain_text("you are signed in")
    expect(page.get_by_role("link", name=email)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("#main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password.")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.locator("#main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Generate", level=1)).to_be_visible()
