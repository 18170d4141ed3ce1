"""Reaching into the in-process app of a test: what it served, its usage buffer, exports."""

from __future__ import annotations

from typing import Any

from neurall.app import SERVICES
from tests.support.poll import until

REQUEST_EXPORT = """
mutation { requestDataExport { __typename
  ... on DataExport { id status url expiresAt } ... on UserError { code }
  ... on RateLimited { retryAfterSeconds } } }
"""
DATA_EXPORT = "query($id: ID!) { dataExport(id: $id) { id status url expiresAt } }"


async def fetch(client: Any, url: str, api_key: str | None = None) -> tuple[int, bytes]:
    """GET a URL the app handed out (an image, an export) through the test client."""
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = await client.http.get(path, headers=headers)
    return response.status, await response.read()


async def flush_usage(client: Any) -> None:
    """Write the usage rows waiting in the app's buffer now (as the flush interval would)."""
    await client.http.app[SERVICES].usage_log.flush()


async def ready_export(client: Any) -> dict[str, Any]:
    """A data export requested now, once it is READY."""
    requested = (await client.data(REQUEST_EXPORT))["requestDataExport"]
    assert requested["__typename"] == "DataExport"
    assert requested["status"] == "PENDING"
    export = await until(
        lambda: _export(client, requested["id"]),
        lambda found: found["status"] != "PENDING",
        within=30,
        every=0.05,
        what="the export being built",
    )
    assert export["status"] == "READY", export
    return export


async def _export(client: Any, export_id: str) -> dict[str, Any]:
    return (await client.data(DATA_EXPORT, {"id": export_id}))["dataExport"]
