"""Shared steps of the privacy tests: generating, waiting, fetching, scanning."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from neurall.app import SERVICES
from tests.generation.helpers import GENERATE, JOB, small_input

HISTORY = """
query($first: Int, $after: String) {
  history(first: $first, after: $after) {
    edges { cursor node { id createdAt job { id status source
      params { prompt seed } images { url expiresAt } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DELETE_ITEM = """
mutation($id: ID!) {
  deleteHistoryItem(id: $id) {
    __typename ... on Deleted { deletedCount } ... on UserError { code }
  }
}
"""
CLEAR = """
mutation { clearHistory { __typename ... on Deleted { deletedCount } ... on UserError { code } } }
"""


async def generate(client: Any, api_key: str | None = None, **overrides: Any) -> dict:
    data = await client.data(GENERATE, {"input": small_input(**overrides)}, api_key=api_key)
    assert data["generate"]["__typename"] == "Job", data
    return data["generate"]


async def wait_done(client: Any, job_id: str, api_key: str | None = None) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = (await client.data(JOB, {"id": job_id}, api_key=api_key))["job"]
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELED"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


async def flush_usage(client: Any) -> None:
    """Write the usage rows waiting in the app's buffer now (as the flush interval would)."""
    await client.http.app[SERVICES].usage_log.flush()


async def fetch(client: Any, url: str, api_key: str | None = None) -> tuple[int, bytes]:
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = await client.http.get(path, headers=headers)
    return response.status, await response.read()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def grep_files(root: Path, needles: list[bytes]) -> list[str]:
    """Files under ``root`` containing any needle (binary search, whole files)."""
    hits = []
    for path in files_under(root):
        data = path.read_bytes()
        hits += [f"{path}: {n[:20]!r}" for n in needles if n in data]
    return hits
