"""``POST /v1/images/edits``' multipart body: its text fields and its two files, read in
memory within bounds, and OpenAI's mask turned into the pipeline's.

The files pass the checks every upload passes (neurall.uploaded_images: format sniffed from
the bytes, decompression-bomb guard, 10 MB): the image by the domain's own validation, the
mask here first, since it has to be decoded to be converted. OpenAI's mask is a PNG whose
fully transparent pixels (alpha 0) mark the area to repaint; the pipeline's is greyscale,
white where it repaints. So alpha 0 becomes white and everything else black.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web
from PIL import Image

from neurall.uploaded_images import (
    MAX_FILE_BYTES,
    BadImage,
    encode_png,
    open_image,
    read_upload,
)
from neurall.web.openai.errors import invalid

# The SDKs send one image as "image", a list as "image[]" (this API takes one).
FILE_FIELDS = {"image": "image", "image[]": "image", "mask": "mask"}
MAX_PARTS = 40
MAX_TEXT_BYTES = 16 * 1024  # a prompt is at most 2000 characters
_CHUNK = 64 * 1024


@dataclass
class EditForm:
    text: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the part (enough to tell it is too big); the rest is
    skipped, never kept."""
    data = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        if len(data) <= limit:
            data += chunk[: limit + 1 - len(data)]
    return bytes(data)


async def read_form(request: web.Request) -> EditForm:
    if request.content_type != "multipart/form-data":
        raise invalid("Send the edit as multipart/form-data.", "image")
    form = EditForm()
    count = 0
    # Each part is read before the next is asked for: the reader skips what was not read.
    async for part in await request.multipart():
        count += 1
        if count > MAX_PARTS:
            raise invalid(f"At most {MAX_PARTS} form fields.", "image")
        if not isinstance(part, BodyPartReader):
            raise invalid("Nested multipart bodies are not accepted.", "image")
        name = part.name or ""
        if name in FILE_FIELDS:
            target = FILE_FIELDS[name]
            if target in form.files:
                raise invalid(f"Send one {target}.", target)
            form.files[target] = await _read_part(part, MAX_FILE_BYTES)
        else:
            raw = await _read_part(part, MAX_TEXT_BYTES)
            if len(raw) > MAX_TEXT_BYTES:
                raise invalid(f"'{name}' is too long.", name)
            form.text[name] = raw.decode("utf-8", errors="replace")
    if "image" not in form.files:
        raise invalid("'image' is required: the picture to edit.", "image")
    return form


def pipeline_mask(upload: bytes) -> bytes:
    """OpenAI's mask (transparent: repaint) as the pipeline's (white: repaint), checked as
    any upload first. Raises the 400 that names ``mask``."""
    try:
        image = open_image(read_upload(("mask", upload)))
    except BadImage as exc:
        raise invalid(f"The mask {str(exc).rstrip('.')}.", "mask") from None
    try:
        with image:
            has_alpha = "A" in image.getbands() or "transparency" in image.info
            if not has_alpha:
                raise invalid(
                    "The mask needs transparency (a PNG with an alpha channel): its fully "
                    "transparent pixels are repainted.",
                    "mask",
                )
            alpha = image.convert("RGBA").getchannel("A")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid("The mask could not be decoded.", "mask") from None
    return encode_png(alpha.point(lambda a: 255 if a == 0 else 0))
