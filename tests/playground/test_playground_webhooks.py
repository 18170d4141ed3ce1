"""The Webhooks page against a receiver on loopback: an endpoint added with its secret
shown once, a signed test event in the delivery log, redelivered with the same webhook-id,
disabled and enabled, its secret rotated, deleted; axe and screenshots along the way."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from tests.support.browser import Server, screenshot, serious_violations
from tests.support.poll import until_sync


class Receiver:
    """A tiny http.server on 127.0.0.1 that answers 204 and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/neurall-events"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_an_endpoint_gets_a_signed_test_event_and_a_redelivery(
    signed_in: Page, receiver: Receiver, server: Server
) -> None:
    page = signed_in
    # Nothing the page loads comes from another origin (the receiver is the server's
    # business, never the browser's).
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.base) else elsewhere.append(r.url))
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(page.get_by_text("No endpoints yet")).to_be_visible()
    # Nothing filled in: each missing field says so, nothing is sent.
    page.get_by_label("Job succeeded").uncheck()
    page.get_by_label("Job failed").uncheck()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("Enter the URL your server receives events at.")).to_be_visible()
    expect(page.get_by_text("Choose at least one event.")).to_be_visible()

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("my laptop")
    page.get_by_label("Job succeeded").check()
    page.get_by_label("Clone ready").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_test_id("secret").input_value()
    assert secret.startswith("whsec_"), secret
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    endpoint = page.get_by_test_id("endpoint")
    expect(endpoint).to_contain_text("Job succeeded, Clone ready")
    expect(endpoint).to_contain_text("Enabled")
    page.get_by_role("button", name="I have stored it safely").click()
    expect(page.get_by_test_id("secret-panel")).to_have_count(0)

    # A signed test event reaches the receiver and shows in the log with its answer.
    page.get_by_role("button", name=f"Send a test event to {receiver.url}").click()
    rows = page.get_by_test_id("delivery-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Test event")
    expect(rows.first).to_contain_text("succeeded")
    expect(rows.first).to_contain_text("204")
    headers, body = receiver.received[0]
    Webhook(secret).verify(body, headers)  # raises on a bad signature
    event_id = headers["webhook-id"]
    expect(rows.first).to_contain_text(event_id)
    assert not serious_violations(page)
    screenshot(page, "webhooks-log")

    # Redelivered: the same webhook-id again, a second row in the log.
    page.get_by_role("button", name=re.compile("^Redeliver Test event")).click()
    expect(page.get_by_text("sent again, with the same webhook-id")).to_be_visible()
    until_sync(lambda: len(receiver.received), lambda n: n == 2, within=45, what="a redelivery")
    assert receiver.received[1][0]["webhook-id"] == event_id

    # Disabled and enabled again; the secret rotated (shown once, behind a confirmation).
    page.get_by_role("button", name=f"Disable {receiver.url}").click()
    expect(endpoint).to_contain_text("Disabled")
    page.get_by_role("button", name=f"Enable {receiver.url}").click()
    expect(endpoint).to_contain_text("Enabled")
    page.get_by_role("button", name=f"Rotate the secret of {receiver.url}").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_test_id("secret").input_value()
    assert rotated.startswith("whsec_")
    assert rotated != secret
    page.get_by_role("button", name="I have stored it safely").click()

    page.get_by_role("button", name=f"Delete {receiver.url}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_text("No endpoints yet")).to_be_visible()
    assert not elsewhere, elsewhere
