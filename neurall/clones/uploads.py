"""Validation and preparation of the photos uploaded to train a clone.

Pure functions: bytes in, PNG bytes out, nothing written anywhere, no web framework imported,
so the GraphQL layer, a worker or the CLI can call them. Every rule a user can break raises
``InvalidInputError`` naming the file by its position and name (``fields=["images.3"]``), and
the whole upload is rejected: callers store nothing unless every file passed.

Untrusted images are handled defensively:
- the format is sniffed from the content (magic bytes, then Pillow restricted to that one
  decoder, which must agree); the file name and the client's content type are never trusted;
- the pixel dimensions an image *declares* are checked before any pixel is decoded, so a tiny
  file declaring 20000 x 20000 pixels (a decompression bomb) costs nothing; Pillow's own
  ``DecompressionBombError`` is handled too, and its process-wide limit is left alone;
- only pixels survive: EXIF (GPS position, camera serial), XMP, ICC and text chunks are
  dropped by copying the pixels into a fresh image, after the EXIF orientation is applied and
  colours are converted to sRGB, so nothing the training needs is lost with them.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Sequence
from typing import IO, Any, Protocol

from PIL import Image, ImageCms, ImageOps

from neurall.errors import InvalidInputError

MIN_IMAGES = 3
MAX_IMAGES = 20
MAX_FILE_BYTES = 10 * 1024 * 1024
# 40 MP covers every phone camera's default mode; decoding one costs ~160 MB as RGBA.
MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000
# Smaller pictures carry too little of a face to learn from.
MIN_SIDE = 64
DEFAULT_RESOLUTION = 512

# Format name as Pillow reports it -> what the user is told.
_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
_NAME_MAX_CHARS = 80


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


def prepare_training_images(
    uploads: Sequence[Upload],
    *,
    resolution: int = DEFAULT_RESOLUTION,
    min_images: int = MIN_IMAGES,
    max_images: int = MAX_IMAGES,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    min_side: int = MIN_SIDE,
) -> list[bytes]:
    """Validate every upload, then return each as a ``resolution`` x ``resolution`` RGB PNG.

    ``uploads`` holds ``(filename, bytes or binary file)`` pairs or objects with ``filename``
    and ``file`` attributes. Files are read at most ``max_file_bytes + 1`` bytes far. The
    output is in upload order and carries no metadata; identical input gives identical bytes.
    """
    if resolution <= 0 or resolution % 8:
        raise ValueError("resolution must be a positive multiple of 8")
    count = len(uploads)
    if not min_images <= count <= max_images:
        raise InvalidInputError(
            f"Upload between {min_images} and {max_images} images; got {count}.", ["images"]
        )
    files = [_read(upload, index, max_file_bytes) for index, upload in enumerate(uploads)]
    images = [
        _open(data, index, name, max_pixels=max_pixels, max_side=max_side, min_side=min_side)
        for index, (name, data) in enumerate(files)
    ]
    # Decoding comes last, after every file passed the cheap checks.
    return [
        _prepare(image, index, name, resolution)
        for index, (image, (name, _)) in enumerate(zip(images, files, strict=True))
    ]


def _label(index: int, name: str) -> str:
    return f'Image {index} ("{name}")' if name else f"Image {index}"


def _invalid(index: int, name: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{_label(index, name)} {problem}", [f"images.{index}"])


def _clean_name(name: object) -> str:
    """The file name as shown back to the user: no path, no control characters, bounded."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    if len(text) > _NAME_MAX_CHARS:
        text = text[: _NAME_MAX_CHARS - 1] + "…"
    return text


def _read(upload: Upload, index: int, max_bytes: int) -> tuple[str, bytes]:
    # Attributes first: some multipart libraries' file fields are named tuples.
    if hasattr(upload, "file") and hasattr(upload, "filename"):
        raw_name, content = upload.filename, upload.file
    else:
        raw_name, content = upload  # type: ignore[misc]
    name = _clean_name(raw_name)
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
    else:
        data = _read_at_most(content, max_bytes + 1)
    if len(data) > max_bytes:
        raise _invalid(index, name, f"is larger than {_megabytes(max_bytes)}.")
    if not data:
        raise _invalid(index, name, "is empty.")
    return name, data


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


def _open(
    data: bytes, index: int, name: str, *, max_pixels: int, max_side: int, min_side: int
) -> Image.Image:
    """Open lazily (headers only) and check the declared size before anything is decoded."""
    not_an_image = "is not a JPEG, PNG or WebP image."
    expected = sniff_format(data)
    if expected is None:
        raise _invalid(index, name, not_an_image)
    try:
        # Only the sniffed decoder may claim the file, so a polyglot cannot pick another one.
        image = Image.open(io.BytesIO(data), formats=[expected])
    except Image.DecompressionBombError as exc:
        raise _invalid(index, name, "has too many pixels.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _invalid(index, name, not_an_image) from exc
    if image.format != expected:
        raise _invalid(index, name, not_an_image)
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise _invalid(
            index,
            name,
            f"is {width} x {height} pixels; the limit is {max_pixels // 1_000_000} megapixels "
            f"and {max_side} pixels a side.",
        )
    if min(width, height) < min_side:
        raise _invalid(index, name, f"is too small ({width} x {height}); use {min_side}+ px.")
    return image


def _prepare(image: Image.Image, index: int, name: str, resolution: int) -> bytes:
    try:
        # JPEGs can decode at 1/2, 1/4 or 1/8 scale; draft never goes below the asked size.
        if image.format == "JPEG":
            image.draft("RGB", (resolution, resolution))
        image.load()
        icc = image.info.get("icc_profile")
        oriented = ImageOps.exif_transpose(image)
        if oriented.mode in ("RGB", "CMYK"):
            # Before flattening: a CMYK profile needs the CMYK pixels.
            oriented = _to_srgb(oriented, icc)
        square = ImageOps.fit(
            _flatten(oriented), (resolution, resolution), Image.Resampling.LANCZOS
        )
        # A fresh image from raw pixels: no EXIF, XMP, ICC or text chunk can come along.
        clean = Image.frombytes("RGB", square.size, square.tobytes())
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises many types on corrupt data; all mean "bad file".
        raise _invalid(index, name, "could not be decoded.") from exc
    finally:
        image.close()
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
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
