"""Accounts, API keys and privacy requests in the browser, and the server's refusal of a
page on another origin that tries to use the signed-in user's cookie."""

from __future__ import annotations

import json
import re
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.browser import Server, me
from tests.support.graphql import PASSWORD
from tests.support.ports import free_port

ME = "{ me { email } }"


def _bearer(server: Server, secret: str) -> requests.Response:
    return requests.post(
        f"{server.base}/graphql",
        json={"query": ME},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=15,
    )


def test_create_a_key_see_its_secret_once_use_it_and_revoke_it(
    verified: Page, context: BrowserContext, server: Server, email: str
) -> None:
    page = verified
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("You have no active keys.")).to_be_visible()
    page.get_by_label("Name").fill("ci server")
    page.get_by_label("Clone: create and delete clones").uncheck()
    page.get_by_role("button", name="Create key").click()

    panel = page.get_by_test_id("secret-panel")
    expect(panel).to_contain_text("only time it is shown")
    secret = page.get_by_test_id("secret").input_value()
    assert secret.startswith("nk_")
    panel.get_by_role("button", name="Copy").click()
    expect(panel.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.get_by_test_id("api-key-row")
    expect(row).to_contain_text(secret[:11])
    expect(row).to_contain_text("generate, read")
    expect(row).to_contain_text("never")

    # The key works, and its use shows in the list.
    assert _bearer(server, secret).json()["data"]["me"]["email"] == email
    page.get_by_role("button", name="I have stored it safely").click()
    expect(panel).to_have_count(0)
    page.reload()
    expect(row).not_to_contain_text("never")
    assert secret not in page.content(), "the secret is never shown again"

    page.get_by_role("button", name="Revoke ci server").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("You have no active keys.")).to_be_visible()
    expect(page.get_by_text("Revoked keys (1)")).to_be_visible()
    refused = _bearer(server, secret)
    assert "me@" not in refused.text
    assert email not in refused.text


def test_correct_the_profile_change_the_password_and_log_back_in(
    signed_in: Page, email: str
) -> None:
    page = signed_in
    page.get_by_role("link", name=email).click()
    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile was updated.")).to_be_visible()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill("a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").or_(page.locator(".field-error")).first).to_be_visible()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Neurall")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("#main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password.")
    page.get_by_label("Password").fill("a brand new passphrase")
    page.locator("#main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Generate", level=1)).to_be_visible()


def test_request_an_export_download_it_and_opt_out_of_marketing(
    signed_in: Page, email: str
) -> None:
    page = signed_in
    # The privacy widget, bottom-right on every page, leads to the real actions.
    page.get_by_role("button", name="Privacy requests").click()
    page.get_by_role("link", name="Download a copy of my data").click()
    expect(page).to_have_url(re.compile(r"/privacy#export$"))
    page.get_by_role("button", name="Request a data export").click()
    link = page.get_by_test_id("export-download")
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    path = download_info.value.path()
    with zipfile.ZipFile(path) as archive:
        account = json.loads(archive.read("account.json"))
    assert email in json.dumps(account)

    toggle = page.get_by_label("Send me marketing e-mails")
    expect(toggle).to_be_checked()
    toggle.uncheck()
    expect(page.get_by_text("you will not receive marketing e-mails")).to_be_visible()
    assert me(page)["marketingOptIn"] is False
    page.reload()
    expect(page.get_by_label("Send me marketing e-mails")).not_to_be_checked()


def test_delete_the_account_with_its_password(signed_in: Page, email: str) -> None:
    page = signed_in
    page.goto("/privacy#delete")
    page.get_by_label("Your password").fill("wrong password!")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator("#delete .field-error, #delete [role=alert]").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/privacy#delete$"))
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    assert page.request.post("/graphql", data={"query": ME}).json()["data"]["me"] is None
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("#main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong e-mail or password.")


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A page on another origin of the same site (another port): the session cookie is
    SameSite=Lax, so the browser does send it there; the server must refuse anyway."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>elsewhere</title><p>another origin</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


ATTACK = """async (api) => {
  const out = {};
  try {
    const r = await fetch(api + '/graphql', {method: 'POST', credentials: 'include',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({query: '{ me { email } }'})});
    out.read = await r.text();
  } catch (e) { out.read = 'blocked'; }
  try {
    await fetch(api + '/graphql', {method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: {'content-type': 'text/plain'},
      body: JSON.stringify({query: 'mutation { setMarketingOptIn(optIn: false) { code } }'})});
  } catch (e) {}
  out.socket = await new Promise((resolve) => {
    const ws = new WebSocket(api.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
    ws.onopen = () => { resolve('open'); ws.close(); };
    ws.onerror = () => resolve('refused');
    setTimeout(() => resolve('timeout'), 15000);
  });
  return out;
}"""


def test_a_page_on_another_origin_cannot_use_the_session(
    signed_in: Page, context: BrowserContext, server: Server, other_origin: str, email: str
) -> None:
    attacker = context.new_page()
    attacker.goto(other_origin)
    result = attacker.evaluate(ATTACK, server.base)
    assert result["read"] == "blocked", result
    assert result["socket"] == "refused", result
    assert me(signed_in)["marketingOptIn"] is True, "the cross-origin POST changed nothing"
    assert me(signed_in)["email"] == email
    attacker.close()
