"""Input images (image-to-image, inpainting): every validation error names its field and
stores nothing; accepted jobs keep their parameters (playground) but never the images, which
wait in the payload store only while the job lives."""

from __future__ import annotations

import io
import json
import math
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from aiohttp import FormData
from PIL import Image

from neurall.app import SERVICES
from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.generation.params import validate
from neurall.orm.jobs import Job
from neurall.storage.payloads import MemoryPayloadStore
from tests.support.events import ws_stream
from tests.support.factories import create_key, sign_up
from tests.support.graphql import GENERATE, JOB, small_input


def png(width: int, height: int, mode: str = "RGB", value: int = 120) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), value if mode == "L" else (value, 30, 200)).save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def bomb_png(side: int = 50_000) -> bytes:
    """A few hundred bytes declaring side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def jpeg_with_exif(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (10, 200, 10))
    exif = Image.Exif()
    exif[0x010F] = "SentinelCam"  # Make
    exif[0x0131] = "sentinel-software"  # Software
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


SETTINGS = Settings()
TOO_BIG = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024)
TRUNCATED = png(64, 64)[:60]


@pytest.mark.parametrize(
    ("sent", "fields", "words"),
    [
        ({"init_image": b"GIF89a not ours"}, ["input.initImage"], "JPEG, PNG or WebP"),
        ({"init_image": TOO_BIG}, ["input.initImage"], "larger than 10 MB"),
        ({"init_image": b""}, ["input.initImage"], "empty"),
        ({"init_image": bomb_png(8000)}, ["input.initImage"], "megapixels"),
        ({"init_image": bomb_png(50_000)}, ["input.initImage"], "too many pixels"),
        ({"init_image": TRUNCATED}, ["input.initImage"], "could not be decoded"),
        ({"init_image": png(64, 64), "mask": b"nope"}, ["input.mask"], "JPEG, PNG or WebP"),
        (
            {"init_image": png(64, 64), "mask": png(64, 72, "L")},
            ["input.mask"],
            "the input image's size",
        ),
        ({"mask": png(64, 64, "L")}, ["input.mask"], "needs an input image"),
        ({"init_image": png(64, 64), "strength": 1.5}, ["input.strength"], "between 0 and 1"),
        ({"init_image": png(64, 64), "strength": -0.1}, ["input.strength"], "between 0 and 1"),
        ({"init_image": png(64, 64), "strength": math.nan}, ["input.strength"], "between 0 and 1"),
        ({"strength": 0.5}, ["input.strength"], "only with an input image"),
        ({"scheduler": "HEUN"}, ["input.scheduler"], "scheduler must be one of"),
        (
            {"init_image": b"bad", "strength": 2.0, "width": 12},
            ["input.initImage", "input.strength", "input.width"],
            "",
        ),
    ],
)
def test_every_bad_input_names_its_field(sent: dict, fields: list[str], words: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate({"prompt": "a fox", **sent}, SETTINGS)
    assert caught.value.fields == fields
    assert words in str(caught.value)


def test_size_defaults_to_the_image_rounded_to_multiples_of_8_within_bounds() -> None:
    request = validate({"prompt": "a fox", "init_image": png(100, 70)}, SETTINGS)
    assert (request.width, request.height) == (96, 72)
    assert (request.mode, request.strength, request.scheduler) == ("IMAGE_TO_IMAGE", 0.8, "DEFAULT")
    # Too small a side is raised to the minimum, too large a picture shrunk to fit.
    small = validate({"prompt": "a fox", "init_image": png(40, 200)}, SETTINGS)
    assert (small.width, small.height) == (64, 200)
    limit = SETTINGS.max_image_side
    big = validate({"prompt": "a fox", "init_image": png(limit * 2, limit)}, SETTINGS)
    assert (big.width, big.height) == (limit, limit // 2)
    # The image is resized to an explicit size; the mask follows, and stays hard.
    sent = {"prompt": "p", "init_image": png(80, 80), "mask": png(80, 80, "L", 255), "width": 64}
    inpaint = validate(sent, SETTINGS)
    assert (inpaint.mode, inpaint.strength, inpaint.width, inpaint.height) == (
        "INPAINT",
        1.0,
        64,
        80,
    )
    assert inpaint.init_image is not None
    assert inpaint.mask is not None
    for data in (inpaint.init_image, inpaint.mask):
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (64, 80)
    with Image.open(io.BytesIO(inpaint.mask)) as mask:
        assert set(np.unique(np.asarray(mask))) == {255}


def test_exif_and_every_other_chunk_is_stripped() -> None:
    request = validate({"prompt": "a fox", "init_image": jpeg_with_exif(64, 64)}, SETTINGS)
    assert request.init_image is not None
    assert b"SentinelCam" not in request.init_image
    with Image.open(io.BytesIO(request.init_image)) as image:
        assert image.format == "PNG"
        assert not image.getexif()
        assert set(image.info) <= {"dpi"}


# ------------------------------------------------------------------- through the API


async def multipart(
    client: Any,
    variables: dict[str, Any],
    files: dict[str, bytes],
    api_key: str | None = None,
) -> dict[str, Any]:
    """generate as a GraphQL multipart request: ``files`` by input field name."""
    form = FormData()
    inputs = {**variables["input"], **{name: None for name in files}}
    form.add_field("operations", json.dumps({"query": GENERATE, "variables": {"input": inputs}}))
    form.add_field(
        "map", json.dumps({str(i): [f"variables.input.{n}"] for i, n in enumerate(files)})
    )
    for index, data in enumerate(files.values()):
        form.add_field(str(index), data, filename=f"f{index}.png", content_type="image/png")
    headers = {"X-Neurall-CSRF": "1"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    response = await client.http.post("/graphql", data=form, headers=headers)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert "errors" not in body, body
    return body["data"]["generate"]


def _payloads(client: Any) -> MemoryPayloadStore:
    store = client.http.app[SERVICES].generation.payloads
    assert isinstance(store, MemoryPayloadStore)
    return store


async def _until_end(client: Any, job_id: str, api_key: str | None = None) -> list[dict]:
    base = str(client.port_url("")).rstrip("/")
    cookie = "; ".join(f"{c.key}={c.value}" for c in client.http.session.cookie_jar)
    stream = await ws_stream(base, api_key=api_key, cookie=cookie).open(job_id)
    try:
        return await stream.until_end()
    finally:
        await stream.close()


@pytest.mark.usefixtures("database_url")
async def test_playground_inpainting_keeps_params_not_images_and_the_payload_goes(client):
    await sign_up(client)
    init, mask = png(72, 64), png(72, 64, "L", 255)
    variables = {"input": small_input(strength=0.5, scheduler="EULER")}
    job = await multipart(client, variables, {"initImage": init, "mask": mask})
    assert job["__typename"] == "Job", job
    # While it lives, its images wait in the payload store, not in the row.
    row = await Job.get(id=job["id"])
    assert row.params is not None
    assert not {"init_image", "mask"} & set(row.params)
    events = await _until_end(client, job["id"])
    assert events[-1]["type"] == "SUCCEEDED", events[-1]
    assert (events[-1]["images"][0]["width"], events[-1]["images"][0]["height"]) == (72, 64)
    data = await client.data(
        JOB.replace("cloneId", "cloneId mode scheduler strength"), {"id": job["id"]}
    )
    params = data["job"]["params"]
    assert (params["mode"], params["scheduler"], params["strength"]) == ("INPAINT", "EULER", 0.5)
    assert (params["width"], params["height"]) == (72, 64)
    assert _payloads(client)._payloads == {}


@pytest.mark.usefixtures("database_url")
async def test_api_image_to_image_job_and_bad_uploads(client):
    await sign_up(client)
    key = await create_key(client)
    bad = await multipart(client, {"input": small_input()}, {"initImage": b"GIF89a"}, key)
    assert bad["__typename"] == "InvalidInput", bad
    assert bad["fields"] == ["input.initImage"]
    # A string where the upload goes (JSON variables) is no file.
    body = await client.post(GENERATE, {"input": small_input(initImage="aGVsbG8=")}, api_key=key)
    assert body["data"]["generate"]["fields"] == ["input.initImage"]
    assert await Job.all().count() == 0
    assert _payloads(client)._payloads == {}
    job = await multipart(
        client, {"input": small_input(strength=0.75)}, {"initImage": png(64, 64)}, key
    )
    assert job["__typename"] == "Job", job
    assert job["params"] is None
    events = await _until_end(client, job["id"], key)
    assert events[-1]["type"] == "SUCCEEDED", events[-1]
    assert _payloads(client)._payloads == {}
