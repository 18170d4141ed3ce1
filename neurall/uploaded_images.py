"""Untrusted uploaded images, checked and cleaned: the rules every upload shares.

Used by the clone photos (neurall.clones.uploads) and the input images of a generation
(neurall.generation.inputs). Pure functions, no web framework: bytes in, a clean Pillow image
out. A rule broken raises ``BadImage`` with the problem as a sentence fragment ("is larger
than 10 MB."); callers name the file and the field.

- the format is sniffed from the content (magic bytes, then Pillow restricted to that one
  decoder, which must agree); the file name and the client's content type are never trusted;
- the pixel dimensions an image *declares* are checked before any pixel is decoded, so a tiny
  file declaring 20000 x 20000 pixels (a decompression bomb) costs nothing; Pillow's own
  ``DecompressionBombError`` is handled too, and its process-wide limit is left alone;
- only pixels survive: EXIF (GPS position, camera serial), XMP, ICC and text chunks are
  dropped by copying the pixels into a fresh image, after the EXIF orientation is applied and
  colours are converted to sRGB, so nothing the pixels need is lost with them.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from typing import IO, Any, Protocol

from PIL import Image, ImageCms, ImageOps

MAX_FILE_BYTES = 10 * 1024 * 1024
# 40 MP covers every phone camera's default mode; decoding one costs ~160 MB as RGBA.
MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000

# Format name as Pillow reports it -> what the user is told.
_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
_NAME_MAX_CHARS = 80
NOT_AN_IMAGE = "is not a JPEG, PNG or WebP image."


class BadImage(ValueError):
    """An upload broke a rule; the message says how, to be prefixed with the file's label."""


class _FileField(Protocol):
    """What multipart parsers hand over (aiohttp's FileField, Strawberry's Upload on aiohttp)."""

    filename: str | None
    file: IO[bytes]


Upload = tuple[str, bytes | IO[bytes]] | _FileField


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name ("JPEG", "PNG", "WEBP") the magic bytes announce, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def clean_name(name: object) -> str:
    """The file name as shown back to the user: no path, no control characters, bounded."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    if len(text) > _NAME_MAX_CHARS:
        text = text[: _NAME_MAX_CHARS - 1] + "…"
    return text


def file_name(upload: Upload) -> str:
    if hasattr(upload, "file") and hasattr(upload, "filename"):
        return clean_name(upload.filename)
    return clean_name(upload[0])  # type: ignore[index]


def read_upload(upload: Upload, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The upload's bytes, read at most ``max_bytes + 1`` far; BadImage when too big or empty."""
    # Attributes first: some multipart libraries' file fields are named tuples.
    is_field = hasattr(upload, "file") and hasattr(upload, "filename")
    content = upload.file if is_field else upload[1]  # type: ignore[union-attr,index]
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    else:
        data = _read_at_most(content, max_bytes + 1)
    if len(data) > max_bytes:
        raise BadImage(f"is larger than {_megabytes(max_bytes)}.")
    if not data:
        raise BadImage("is empty.")
    return data


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    # A raw stream may return short reads before EOF; stop at EOF or once past the limit, so
    # a huge upload is never read whole.
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def open_image(
    data: bytes, *, max_pixels: int = MAX_PIXELS, max_side: int = MAX_SIDE, min_side: int = 1
) -> Image.Image:
    """Open lazily (headers only) and check the declared size before anything is decoded."""
    expected = sniff_format(data)
    if expected is None:
        raise BadImage(NOT_AN_IMAGE)
    try:
        # Only the sniffed decoder may claim the file, so a polyglot cannot pick another one.
        image = Image.open(io.BytesIO(data), formats=[expected])
    except Image.DecompressionBombError as exc:
        raise BadImage("has too many pixels.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImage(NOT_AN_IMAGE) from exc
    if image.format != expected:
        raise BadImage(NOT_AN_IMAGE)
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise BadImage(
            f"is {width} x {height} pixels; the limit is {max_pixels // 1_000_000} megapixels "
            f"and {max_side} pixels a side."
        )
    if min(width, height) < min_side:
        raise BadImage(f"is too small ({width} x {height}); use {min_side}+ px.")
    return image


def upright_srgb(image: Image.Image) -> Image.Image:
    """Decode ``image`` (from ``open_image``), apply its EXIF orientation and colour profile,
    and flatten it to RGB; the result still has to go through ``pixels_only``."""
    image.load()
    icc = image.info.get("icc_profile")
    oriented = ImageOps.exif_transpose(image)
    if oriented.mode in ("RGB", "CMYK"):
        # Before flattening: a CMYK profile needs the CMYK pixels.
        oriented = _to_srgb(oriented, icc)
    return flatten(oriented)


def pixels_only(image: Image.Image) -> Image.Image:
    """A fresh image from raw pixels: no EXIF, XMP, ICC or text chunk can come along."""
    return Image.frombytes(image.mode, image.size, image.tobytes())


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def flatten(image: Image.Image) -> Image.Image:
    """Any mode -> RGB; transparency becomes white, 16-bit greys are scaled, not clipped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 257).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


@functools.cache
def _srgb_profile() -> Any:
    return ImageCms.createProfile("sRGB")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert from the embedded colour profile to sRGB, since the profile itself is dropped."""
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _srgb_profile(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken or unusual profile (e.g. CMYK on an RGB image): keep the pixels as they are.
        return image
    return converted if converted is not None else image
