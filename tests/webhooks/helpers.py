"""GraphQL documents for the webhook tests."""

from __future__ import annotations

from typing import Any

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
