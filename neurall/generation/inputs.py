"""The input images of a generation (image-to-image, inpainting): checked and made ready.

They follow the rules every upload shares (neurall.uploaded_images: format sniffed from the
bytes, decompression-bomb guard, at most 10 MB, EXIF and every other chunk dropped), and the
mask must have the image's size. What comes out is PNG bytes of exactly the request's width x
height, pixels only, which is all the pipeline reads. Nothing is written anywhere: callers
store nothing unless every check passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from neurall.errors import InvalidInputError
from neurall.uploaded_images import (
    BadImage,
    encode_png,
    open_image,
    pixels_only,
    read_upload,
    upright_srgb,
)

# Field of the GraphQL input -> how the user is told about it.
INIT_IMAGE = "initImage"
MASK = "mask"
# How messages name each upload to a person.
LABELS = {INIT_IMAGE: "The input image", MASK: "The mask"}


@dataclass(frozen=True)
class OpenedInputs:
    """The uploads, opened (headers read, declared size checked), not yet decoded."""

    image: Image.Image
    mask: Image.Image | None

    @property
    def size(self) -> tuple[int, int]:
        # EXIF orientation swaps the sides of a portrait photo taken in landscape.
        width, height = self.image.size
        if _rotated(self.image):
            return height, width
        return width, height


def _rotated(image: Image.Image) -> bool:
    try:
        return image.getexif().get(0x0112) in (5, 6, 7, 8)  # Orientation: a quarter turn
    except Exception:  # unreadable EXIF is dropped anyway
        return False


def _as_upload(value: Any) -> Any:
    return ("", value) if isinstance(value, bytes | bytearray) else value


def open_inputs(init_image: Any, mask: Any, bad: dict[str, str]) -> OpenedInputs | None:
    """Open the uploads, adding what is wrong to ``bad`` (by field path); None when either
    could not be opened."""
    opened: dict[str, Image.Image] = {}
    for field, upload in ((INIT_IMAGE, init_image), (MASK, mask)):
        if upload is None:
            continue
        try:
            opened[field] = open_image(read_upload(_as_upload(upload)))
        except BadImage as exc:
            bad[f"input.{field}"] = f"{LABELS[field]} {str(exc).rstrip('.')}."
    if INIT_IMAGE not in opened or (mask is not None and MASK not in opened):
        return None
    inputs = OpenedInputs(opened[INIT_IMAGE], opened.get(MASK))
    if inputs.mask is not None:
        mask_size = OpenedInputs(inputs.mask, None).size
        if mask_size != inputs.size:
            bad[f"input.{MASK}"] = (
                f"The mask is {mask_size[0]} x {mask_size[1]} pixels; it must have the input "
                f"image's size ({inputs.size[0]} x {inputs.size[1]})."
            )
    return inputs


def default_size(
    image_size: tuple[int, int], min_side: int, max_side: int, multiple: int = 8
) -> tuple[int, int]:
    """The image's size, shrunk (keeping its shape) to fit ``max_side``, each side rounded to
    a multiple of ``multiple`` (the model's) and kept within [min_side, max_side]."""
    width, height = image_size
    scale = min(1.0, max_side / max(width, height))

    def side(value: int) -> int:
        rounded = round(value * scale / multiple) * multiple
        return max(min_side, min(max_side - max_side % multiple, rounded))

    return side(width), side(height)


def prepare(inputs: OpenedInputs, width: int, height: int) -> tuple[bytes, bytes | None]:
    """Decode and clean the uploads and resize them to ``width`` x ``height``: PNG bytes of
    the image and of the mask (greyscale; white is repainted)."""
    size = (width, height)
    try:
        image = _decode(
            INIT_IMAGE, lambda: upright_srgb(inputs.image).resize(size, Image.Resampling.LANCZOS)
        )
        mask = None
        if inputs.mask is not None:
            opened_mask = inputs.mask
            # NEAREST keeps a hard mask hard: white stays white, black stays black.
            mask = _decode(
                MASK,
                lambda: (
                    upright_srgb(opened_mask).convert("L").resize(size, Image.Resampling.NEAREST)
                ),
            )
    finally:
        inputs.image.close()
        if inputs.mask is not None:
            inputs.mask.close()
    return encode_png(image), encode_png(mask) if mask is not None else None


def _decode(field: str, decode: Callable[[], Image.Image]) -> Image.Image:
    try:
        return pixels_only(decode())
    except MemoryError:
        raise
    except Exception as exc:  # Pillow raises many types on corrupt data; all mean "bad file".
        raise InvalidInputError(
            f"{LABELS[field]} could not be decoded.", [f"input.{field}"]
        ) from exc
