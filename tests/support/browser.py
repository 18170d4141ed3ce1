"""Helpers shared by the playground's browser tests."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from neurall.web.playground import DIST_DIR
from tests.support.poll import until_sync
from tests.support.smtp import link_token

DIST = DIST_DIR
CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in a container), no GPU, and nothing that calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class Server:
    base: str
    log: Path
    data_dir: Path


def gql(page: Page, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A GraphQL call with the page's session cookie (the context's cookie jar)."""
    response = page.request.post("/graphql", data={"query": query, "variables": variables or {}})
    assert response.ok, response.text()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def me(page: Page) -> dict[str, Any]:
    return gql(
        page, "{ me { id email credits heldCredits marketingOptIn emailVerified pendingEmail } }"
    )["me"]


def mailed_link(server: Server, to: str, fragment: str, *, skip: int = 0) -> str:
    """The ``#fragment=`` link (``verify-email``, ``reset-password``) of a message to ``to``
    in the embedded outbox (``<data>/outbox/*.eml``), as a person would open it: the
    ``skip``-th such message, oldest first; waits for it to be written."""

    def links() -> list[str]:
        found = []
        for path in sorted((server.data_dir / "outbox").glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == to and f"/#{fragment}=" in str(message):
                token = link_token(message, fragment)  # type: ignore[arg-type]
                found.append(f"{server.base}/#{fragment}={token}")
        return found

    found = until_sync(
        links, lambda found: len(found) > skip, within=45, what=f"a {fragment} e-mail to {to}"
    )
    return found[skip]


SCREENSHOTS = Path(__file__).parent.parent / "playground" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def screenshot(page: Page, name: str) -> None:
    """The page as it is now, at a desktop's width and a phone's, into the git-ignored
    screenshots folder (look at them after changing the look)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    size = page.viewport_size or DESKTOP
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(size)


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    results: dict[str, Any] = Axe().run(page).response
    return [
        f"{v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
