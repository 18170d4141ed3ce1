"""Helpers shared by the playground's browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from neurall.web.playground import DIST_DIR

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
    return gql(page, "{ me { id email credits heldCredits marketingOptIn } }")["me"]


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
