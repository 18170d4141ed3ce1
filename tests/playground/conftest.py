"""The playground in a real browser: Debian's Chromium driven by Playwright (with
pytest-playwright's fixture names) against a `neurall serve` started as a real process on
its embedded defaults.

One server for the whole playground run (on the run's tiny model), each test with its own
account. A missing browser or build fails the run: it never skips.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, DIST, Server, gql, mailed_link
from tests.support.graphql import PASSWORD
from tests.support.processes import embedded_serve

VERIFY = """mutation($token: String!) {
  verifyEmail(token: $token) { ... on Account { emailVerified } }
}"""
# The machines running the suite are small and shared: waits are generous, so a slow
# moment is not a failure. Nothing waits this long when the app works.
TIMEOUT_MS = 45_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_models: Path) -> Iterator[Server]:
    if not (DIST / "index.html").is_file():
        pytest.fail(f"the playground is not built ({DIST}); run `make playground`", pytrace=False)
    with embedded_serve(
        tmp_path_factory.mktemp("playground-serve"),
        tiny_models,
        # Every test signs up from the same address.
        NEURALL_SIGNUPS_PER_IP_PER_HOUR="1000",
        NEURALL_LOGIN_FAILURES_PER_IP="1000",
        NEURALL_SIGNUP_GRANT_CREDITS="1000",
        # The history test queues more than a page of jobs at once.
        NEURALL_MAX_ACTIVE_JOBS_PER_ACCOUNT="64",
        # As in production: API keys and payments wait for a confirmed address.
        NEURALL_REQUIRE_VERIFIED_EMAIL="1",
        # The webhooks test's receiver listens on loopback over http (development only).
        NEURALL_WEBHOOKS_ALLOW_INSECURE_URLS="true",
    ) as serve:
        yield Server(base=serve.base, log=serve.log, data_dir=serve.data)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for one module at a time (pytest-playwright's own lasts the session).
    While it runs, the sync API holds an event loop on the main thread, and every async
    test after it in the session would fail to start its own."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, never a downloaded browser."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=server.base, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page whose console may not report a Content-Security-Policy violation or an
    uncaught error: the app must run within its own policy."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    yield page
    assert not problems, problems


@pytest.fixture
def email() -> str:
    return f"pg-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def signed_in(page: Page, email: str) -> Page:
    """A new account, signed in through the app's own sign-up form."""
    page.goto("/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("#main").get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Generate", level=1).wait_for()
    return page


@pytest.fixture
def verified(signed_in: Page, server: Server, email: str) -> Page:
    """A new account whose address is confirmed (through the API, with the mailed token),
    for the tests of what needs one: API keys, payments."""
    token = mailed_link(server, email, "verify-email").split("=", 1)[1]
    result = gql(signed_in, VERIFY, {"token": token})["verifyEmail"]
    assert result == {"emailVerified": True}, result
    signed_in.reload()
    signed_in.get_by_role("heading", name="Generate", level=1).wait_for()
    return signed_in
