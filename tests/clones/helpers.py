"""Synthetic photos, GraphQL multipart uploads, a cloneEvents socket, a leak scanner and READY
clone rows."""

from __future__ import annotations

import asyncio
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from aiohttp import FormData
from PIL import Image

from neurall.orm.clones import Clone, CloneStatus

CLONE_FIELDS = """
  id name triggerWord status progress sourceImagesDeleted error createdAt
  step totalSteps loss imageCount heldCredits costCredits finishedAt
"""
CREATE_CLONE = f"""
mutation($input: CreateCloneInput!, $images: [Upload!]!) {{
  createClone(input: $input, images: $images) {{
    __typename
    ... on Clone {{ {CLONE_FIELDS} }}
    ... on UserError {{ code message }}
    ... on InvalidInput {{ fields errors {{ field message }} }}
    ... on InsufficientCredits {{ required available }}
  }}
}}
"""
CLONE = f"query($id: ID!) {{ clone(id: $id) {{ {CLONE_FIELDS} }} }}"
CLONES = f"{{ clones {{ {CLONE_FIELDS} }} }}"
DELETE_CLONE = """
mutation($id: ID!) {
  deleteClone(id: $id) {
    __typename ... on Deleted { deletedCount } ... on UserError { code message }
  }
}
"""
CLONE_EVENTS = f"subscription($id: ID!) {{ cloneEvents(cloneId: $id) {{ {CLONE_FIELDS} }} }}"


def photos(count: int = 4, seed: int = 0, size: int = 96) -> list[tuple[str, bytes]]:
    """Synthetic "photos": a coloured disc on a plain background, PNG and JPEG mixed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    files = []
    for index in range(count):
        colour, background = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        cx, cy = rng.integers(size // 4, 3 * size // 4, 2)
        radius = rng.integers(size // 8, size // 3)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < radius**2
        pixels = np.where(disc[..., None], colour, background).astype(np.uint8)
        buffer = io.BytesIO()
        fmt = "JPEG" if index % 2 else "PNG"
        Image.fromarray(pixels).save(buffer, format=fmt)
        files.append((f"photo{index}.{fmt.lower()}", buffer.getvalue()))
    return files


async def upload(
    client: Any,
    files: list[tuple[str, bytes]],
    variables: dict[str, Any] | None = None,
    *,
    api_key: str | None = None,
    csrf: bool = True,
    query: str = CREATE_CLONE,
) -> Any:
    """A GraphQL multipart request (the upload spec); returns the response."""
    variables = {"input": {"name": "me"}, **(variables or {})}
    variables["images"] = [None] * len(files)
    form = FormData()
    form.add_field("operations", json.dumps({"query": query, "variables": variables}))
    form.add_field(
        "map", json.dumps({str(i): [f"variables.images.{i}"] for i in range(len(files))})
    )
    for index, (name, data) in enumerate(files):
        form.add_field(str(index), data, filename=name, content_type="image/png")
    headers = {"X-Neurall-CSRF": "1"} if csrf else {}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    return await client.http.post("/graphql", data=form, headers=headers)


async def create_clone(client: Any, files: list[tuple[str, bytes]], **kw: Any) -> dict[str, Any]:
    response = await upload(client, files, **kw)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert "errors" not in body, body
    return body["data"]["createClone"]


async def clone_events(
    base_http: str,
    clone_id: str,
    api_key: str | None,
    within: float = 120,
    cookie: str | None = None,
) -> list:
    """Every message of one cloneEvents subscription until it completes (an error ends it
    as ``[{"errors": [...]}]``)."""
    url = base_http.replace("http://", "ws://", 1) + "/graphql"
    headers = {"Cookie": cookie} if cookie else {}
    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"], additional_headers=headers
    ) as socket:
        payload = {"authorization": f"Bearer {api_key}"} if api_key else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        op = str(uuid.uuid4())
        payload = {"query": CLONE_EVENTS, "variables": {"id": clone_id}}
        await socket.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
        messages = []
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), within))
            if message["type"] == "complete":
                return messages
            if message["type"] == "error":
                return [{"errors": message["payload"]}]
            if message["payload"].get("errors"):
                return [{"errors": message["payload"]["errors"]}]
            messages.append(message["payload"]["data"]["cloneEvents"])


def files_containing(roots: list[Path], needles: list[bytes]) -> list[str]:
    """Files under ``roots`` (symlinks not followed) holding any of ``needles``."""
    found = []
    for root in roots:
        for directory, _dirs, names in os.walk(root, followlinks=False):
            for name in names:
                path = Path(directory) / name
                if path.is_symlink() or not path.is_file() or path.stat().st_size > 64 << 20:
                    continue
                content = path.read_bytes()
                if any(needle in content for needle in needles):
                    found.append(str(path))
    return found


async def ready_clone_row(
    account_id: Any, *, name: str, trigger_word: str, adapter_key: str
) -> Clone:
    """A READY clone row with no weights behind ``adapter_key``: enough where nothing loads
    them, or where their absence is the point."""
    return await Clone.create(
        account_id=account_id,
        name=name,
        trigger_word=trigger_word,
        status=CloneStatus.READY,
        image_count=3,
        total_steps=1,
        step=1,
        source_images_deleted=True,
        adapter_key=adapter_key,
    )
