"""Webhooks as the tests see them: the GraphQL documents, a receiver that verifies and
records deliveries (the ``receiver`` fixture serves it), a DNS resolver the test writes,
and waiting for a delivery's status."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from neurall.orm.webhooks import DeliveryStatus, WebhookDelivery
from tests.support.poll import until

ENDPOINT_FIELDS = "id url description events enabled disabledReason createdAt"
CREATE = f"""
mutation($input: WebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    __typename
    ... on CreatedWebhookEndpoint {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }}
    ... on UserError {{ code message }}
    ... on InvalidInput {{ fields }}
  }}
}}
"""
UPDATE = f"""
mutation($id: ID!, $input: WebhookEndpointUpdateInput!) {{
  updateWebhookEndpoint(id: $id, input: $input) {{
    __typename ... on WebhookEndpoint {{ {ENDPOINT_FIELDS} }} ... on UserError {{ code message }}
  }}
}}
"""
DELETE = """
mutation($id: ID!) {
  deleteWebhookEndpoint(id: $id) {
    __typename ... on Deleted { deletedCount } ... on UserError { code }
  }
}
"""
ROTATE = f"""
mutation($id: ID!) {{
  rotateWebhookSecret(id: $id) {{
    __typename
    ... on CreatedWebhookEndpoint {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }}
    ... on UserError {{ code }}
  }}
}}
"""
ENDPOINTS = f"{{ webhookEndpoints {{ {ENDPOINT_FIELDS} }} }}"
DELIVERY_FIELDS = """id endpointId eventId eventType status attempts responseStatus durationMs
  nextAttemptAt createdAt lastAttemptAt"""
DELIVERIES = f"""
query($id: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {{
  webhookDeliveries(endpointId: $id, status: $status, first: $first, after: $after) {{
    edges {{ cursor node {{ {DELIVERY_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
SEND_TEST = f"""
mutation($id: ID!) {{
  sendTestWebhook(id: $id) {{
    __typename ... on WebhookDelivery {{ {DELIVERY_FIELDS} }} ... on UserError {{ code }}
  }}
}}
"""
REDELIVER = f"""
mutation($id: ID!) {{
  redeliverWebhook(deliveryId: $id) {{
    __typename ... on WebhookDelivery {{ {DELIVERY_FIELDS} }} ... on UserError {{ code }}
  }}
}}
"""
ALL_EVENTS = [
    "JOB_STARTED",
    "JOB_PROGRESS",
    "JOB_SUCCEEDED",
    "JOB_FAILED",
    "JOB_CANCELED",
    "CLONE_READY",
    "CLONE_FAILED",
    "CREDITS_LOW",
]


async def create_endpoint(
    client: Any, url: str, events: list[str] | None = None, **kw: Any
) -> dict[str, Any]:
    variables = {"input": {"url": url, "events": events or ALL_EVENTS, "description": "test"}}
    data = await client.data(CREATE, variables, **kw)
    created = data["createWebhookEndpoint"]
    assert created["__typename"] == "CreatedWebhookEndpoint", created
    return created


async def deliveries(client: Any, endpoint_id: str, **kw: Any) -> list[dict[str, Any]]:
    data = await client.data(DELIVERIES, {"id": endpoint_id, "first": 100}, **kw)
    return [e["node"] for e in data["webhookDeliveries"]["edges"]]


async def wait_delivery_status(
    endpoint_id: str, status: DeliveryStatus, within: float = 60
) -> None:
    """Until a delivery of the endpoint has ``status`` (read from the database)."""
    await until(
        lambda: WebhookDelivery.filter(endpoint_id=endpoint_id, status=status).exists(),
        within=within,
        what=f"a {status} delivery",
    )


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
        await until(
            lambda: len(self.deliveries),
            lambda arrived: arrived >= count,
            within=within,
            what=f"{count} deliveries arriving (arrived)",
        )
        return self.deliveries

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.payload["type"] == event_type]


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
