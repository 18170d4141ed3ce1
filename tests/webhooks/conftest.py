"""A real webhook receiver: an aiohttp server on loopback that verifies every delivery
with the ``standardwebhooks`` library and records it (tests/support/webhooks.py); and the
app that sends to it, with development mode allowing http and loopback, and a DNS resolver
the test controls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from neurall.app import SERVICES, create_app
from neurall.config import Settings
from tests.support.graphql import GraphQLClient
from tests.support.runtime import generation_settings
from tests.support.webhooks import Receiver, StaticResolver


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    found.url = f"http://127.0.0.1:{server.port}/hook"
    return found


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver({})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(
        tmp_path / "data",
        database_url,
        tiny_models,
        webhooks_allow_insecure_urls=True,
        requests_per_minute_per_account=10_000,
        requests_per_minute_per_api_key=10_000,
    )


MakeClient = Callable[..., Any]


@pytest.fixture
async def client(
    aiohttp_client: Any, settings: Settings, resolver: StaticResolver
) -> GraphQLClient:
    app = create_app(settings)
    app[SERVICES].webhook_resolver = lambda: resolver
    return GraphQLClient(await aiohttp_client(app))
