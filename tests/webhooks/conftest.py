"""A real webhook receiver: an aiohttp server on loopback that verifies every delivery
with the ``standardwebhooks`` library and records it; and the app that sends to it, with
development mode allowing http and loopback, and a DNS resolver the test controls."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from neurall.app import SERVICES, create_app
from neurall.config import Settings
from tests.conftest import GraphQLClient
from tests.generation.conftest import generation_settings, tiny_models

__all__ = ["tiny_models"]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    # The secrets (of ``Receiver.secrets``) whose signature verified this delivery.
    verified_with: list[str]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    url: str = ""
    secrets: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # Planned answers, consumed in order: (status, headers, seconds to wait first).
    plan: list[tuple[int, dict[str, str], float]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                verified.append(secret)
            except WebhookVerificationError:
                pass
        self.deliveries.append(Delivery(headers, body, verified))
        status, extra, wait = self.plan.pop(0) if self.plan else (200, {}, 0.0)
        if wait:
            await asyncio.sleep(wait)
        return web.Response(status=status, headers=extra)

    async def wait_for(self, count: int, within: float = 60) -> list[Delivery]:
        for _ in range(int(within * 10)):
            if len(self.deliveries) >= count:
                return self.deliveries
            await asyncio.sleep(0.1)
        raise AssertionError(f"{len(self.deliveries)} of {count} deliveries arrived")

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.payload["type"] == event_type]


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    found.url = f"http://127.0.0.1:{server.port}/hook"
    return found


class StaticResolver(AbstractResolver):
    """Answers from a table the test writes; never asks a real DNS server."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"no such test name {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        return None


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
