"""Validation and preparation of the photos uploaded to train a clone.

Pure functions: bytes in, PNG bytes out, nothing written anywhere, no web framework imported,
so the GraphQL layer, a worker or the CLI can call them. Every rule a user can break raises
``InvalidInputError`` naming the file by its position and name (``fields=["images.3"]``), and
the whole upload is rejected: callers store nothing unless every file passed.

Untrusted images pass the rules every upload shares (neurall.uploaded_images: the format
sniffed from the bytes, a decompression-bomb guard, metadata dropped, colours in sRGB).
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageOps

from neurall.errors import InvalidInputError
from neurall.uploaded_images import (
    MAX_FILE_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    BadImage,
    Upload,
    encode_png,
    file_name,
    open_image,
    pixels_only,
    read_upload,
    sniff_format,
    upright_srgb,
)

MIN_IMAGES = 3
MAX_IMAGES = 20
# Smaller pictures carry too little of a face to learn from.
MIN_SIDE = 64
DEFAULT_RESOLUTION = 512

__all__ = ["MAX_FILE_BYTES", "MAX_IMAGES", "Upload", "prepare_training_images", "sniff_format"]


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
    images = []
    for index, (name, data) in enumerate(files):
        try:
            images.append(
                open_image(data, max_pixels=max_pixels, max_side=max_side, min_side=min_side)
            )
        except BadImage as exc:
            raise _invalid(index, name, str(exc)) from exc
    # Decoding comes last, after every file passed the cheap checks.
    return [
        _prepare(image, index, name, resolution)
        for index, (image, (name, _)) in enumerate(zip(images, files, strict=True))
    ]


def _label(index: int, name: str) -> str:
    # People count photos from 1; the field path (images.<index>) stays 0-based.
    return f'Image {index + 1} ("{name}")' if name else f"Image {index + 1}"


def _invalid(index: int, name: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{_label(index, name)} {problem}", [f"images.{index}"])


def _read(upload: Upload, index: int, max_bytes: int) -> tuple[str, bytes]:
    name = file_name(upload)
    try:
        return name, read_upload(upload, max_bytes)
    except BadImage as exc:
        raise _invalid(index, name, str(exc)) from exc


def _prepare(image: Image.Image, index: int, name: str, resolution: int) -> bytes:
    try:
        # JPEGs can decode at 1/2, 1/4 or 1/8 scale; draft never goes below the asked size.
        if image.format == "JPEG":
            image.draft("RGB", (resolution, resolution))
        square = ImageOps.fit(
            upright_srgb(image), (resolution, resolution), Image.Resampling.LANCZOS
        )
        clean = pixels_only(square)
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises many types on corrupt data; all mean "bad file".
        raise _invalid(index, name, "could not be decoded.") from exc
    finally:
        image.close()
    return encode_png(clean)
