"""Cloning: its GraphQL documents, synthetic photos, multipart uploads, a cloneEvents socket,
fast training settings and the check that no photo is left behind."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from aiohttp import FormData
from PIL import Image

from neurall.clones.uploads import prepare_training_images
from tests.support.files import files_containing
from tests.support.graphql import GENERATE

# Few steps keep the clone tests fast; the loss test asks for more itself.
FAST_TRAINING: dict[str, object] = {
    "clone_default_training_steps": 4,
    "clone_training_batch_size": 4,
    "embedded_worker_threads": 2,
}

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


async def generate_person(client: Any, key: str, **fields: Any) -> dict[str, Any]:
    """The generate answer (a Job, or why not) for a prompt with the trigger word "sks"."""
    data = {"prompt": "a photo of sks person", "steps": 4, "seed": 7, **fields}
    return (await client.data(GENERATE, {"input": data}, api_key=key))["generate"]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG header for a huge RGB image, with almost no pixel data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def needles(files: list[tuple[str, bytes]], resolution: int = 64) -> list[bytes]:
    """Distinctive slices of the uploaded files and of the prepared PNGs stored from them."""
    prepared = prepare_training_images(files, resolution=resolution)
    return [
        data[len(data) // 3 : len(data) // 3 + 128] for data in [f for _, f in files] + prepared
    ]


def assert_no_photo_left(data_dir: Path, files: list[tuple[str, bytes]], since: float) -> None:
    """Nothing of ``files`` in the data directory (storage, model store, database) nor in
    the system's temporary area."""
    assert files_containing([data_dir], needles(files)) == []
    # The system's temporary area: anything written there since the test started.
    recent = [
        p
        for p in Path(tempfile.gettempdir()).iterdir()
        if p.is_file() and not p.is_symlink() and p.stat().st_mtime >= since
    ]
    assert files_containing(recent, needles(files)) == []
