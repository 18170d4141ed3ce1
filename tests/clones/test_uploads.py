"""Upload validation for clones: hostile files are rejected by name, good ones lose all metadata."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from neurall.clones.uploads import (
    MAX_FILE_BYTES,
    prepare_training_images,
    sniff_format,
)
from neurall.errors import InvalidInputError
from tests.support.clones import png_declaring

GPS_LATITUDE = 2  # EXIF GPS IFD tag


def _picture(width: int = 96, height: int = 96, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _png(seed: int = 0, size: tuple[int, int] = (96, 96)) -> bytes:
    return _encode(_picture(*size, seed=seed), "PNG")


def _good(count: int) -> list[tuple[str, bytes]]:
    return [(f"good{i}.png", _png(seed=i)) for i in range(count)]


def _png_chunk_types(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def _rejected(uploads: list, **params: object) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        prepare_training_images(uploads, resolution=64, **params)
    return info.value


def test_text_file_named_png_is_rejected_by_content() -> None:
    uploads = [*_good(3), ("notes.png", b"just some text, not an image\n")]
    error = _rejected(uploads)
    assert error.fields == ["images.3"]
    assert 'Image 4 ("notes.png")' in error.message
    assert "not a JPEG, PNG or WebP" in error.message


def test_magic_bytes_without_a_decodable_image_are_rejected() -> None:
    # PNG signature followed by garbage: the sniffed decoder must agree with the magic bytes.
    error = _rejected([*_good(3), ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)])
    assert error.fields == ["images.3"]
    assert sniff_format(b"GIF89a....") is None


@pytest.mark.parametrize("pillow_guard", [True, False])
def test_png_declaring_20000_by_20000_is_rejected_before_decoding(
    pillow_guard: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = png_declaring(20_000, 20_000)
    assert len(bomb) < 200
    if not pillow_guard:
        # Our own check of the declared size must stop it even when Pillow's is off; had the
        # pixels been decoded, the error would be "could not be decoded" (after 1.2 GB).
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    error = _rejected([*_good(3), ("bomb.png", bomb)])
    assert error.fields == ["images.3"]
    assert 'Image 4 ("bomb.png")' in error.message
    assert "pixels" in error.message
    assert "decoded" not in error.message


@pytest.mark.parametrize(("width", "height"), [(9_000, 5_000), (13_000, 100)])
def test_declared_size_limits_below_pillows_own(width: int, height: int) -> None:
    # 45 MP and a 13000 px side: under Pillow's 89 MP warning, over Neurall's limits.
    error = _rejected([("big.png", png_declaring(width, height)), *_good(3)])
    assert error.fields == ["images.0"]
    assert f"{width} x {height}" in error.message


def test_21_files_are_rejected() -> None:
    error = _rejected(_good(21))
    assert error.fields == ["images"]
    assert "21" in error.message


def test_2_files_are_rejected() -> None:
    error = _rejected(_good(2))
    assert error.fields == ["images"]


class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_11_mb_file_is_rejected_without_reading_it_whole() -> None:
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (11 * 1024 * 1024)
    error = _rejected([*_good(3), ("huge.jpg", big)])
    assert error.fields == ["images.3"]
    assert "larger than 10 MB" in error.message
    stream = _CountingStream(big)
    error = _rejected([*_good(3), ("huge.jpg", stream)])
    assert error.fields == ["images.3"]
    assert stream.bytes_read == MAX_FILE_BYTES + 1


def test_size_limit_is_a_parameter() -> None:
    error = _rejected(_good(3), max_file_bytes=1000)
    assert error.fields == ["images.0"]


def test_empty_tiny_and_truncated_files_are_rejected() -> None:
    assert _rejected([("empty.png", b""), *_good(3)]).fields == ["images.0"]
    small = ("small.png", _png(size=(40, 40)))
    assert "too small" in _rejected([*_good(3), small]).message
    whole = _encode(_picture(200, 200), "JPEG")
    truncated = whole[: len(whole) // 2]
    assert "decoded" in _rejected([*_good(3), ("cut.jpg", truncated)]).message


def _jpeg_with_exif_and_orientation() -> bytes:
    # Stored 160 x 80: left half red, right half blue. Orientation 6 means "rotate 90 degrees
    # clockwise to display", which puts red on top.
    pixels = np.zeros((80, 160, 3), dtype=np.uint8)
    pixels[:, :80] = (255, 0, 0)
    pixels[:, 80:] = (0, 0, 255)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1] = "N"
    gps[GPS_LATITUDE] = (52.0, 22.0, 7.5)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _encode(
        Image.fromarray(pixels), "JPEG", exif=exif, icc_profile=icc, quality=95, comment=b"secret"
    )


def test_jpeg_exif_is_stripped_and_orientation_applied() -> None:
    source = _jpeg_with_exif_and_orientation()
    with Image.open(io.BytesIO(source)) as check:  # the fixture really carries GPS
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)[GPS_LATITUDE]
        assert check.info["icc_profile"]
    outputs = prepare_training_images([("me.jpg", source), *_good(2)], resolution=64)
    out = outputs[0]
    assert _png_chunk_types(out) == [b"IHDR", b"IDAT", b"IEND"]
    assert b"PhoneCo" not in out
    assert b"secret" not in out
    with Image.open(io.BytesIO(out)) as image:
        assert image.format == "PNG"
        assert image.size == (64, 64)
        assert image.mode == "RGB"
        assert not image.getexif()
        assert not image.info
        pixels = np.asarray(image).astype(int)
    # Red on top, blue at the bottom: the orientation was applied before cropping.
    assert pixels[4, 32, 0] > 200
    assert pixels[4, 32, 2] < 60
    assert pixels[60, 32, 2] > 200
    assert pixels[60, 32, 0] < 60


def test_webp_png_and_jpeg_accepted_by_content_not_name() -> None:
    picture = _picture(120, 90, seed=7)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    uploads = [
        ("a.jpg", _encode(picture, "WEBP", quality=90, exif=exif)),  # WebP named .jpg
        ("b", _encode(picture, "PNG")),
        ("c.webp", _encode(picture, "JPEG")),
        ("d.png", _encode(picture.convert("RGBA"), "WEBP", lossless=True)),
    ]
    for resolution in (64, 128):
        outputs = prepare_training_images(uploads, resolution=resolution)
        assert len(outputs) == 4
        for out in outputs:
            assert _png_chunk_types(out) == [b"IHDR", b"IDAT", b"IEND"]
            with Image.open(io.BytesIO(out)) as image:
                assert image.size == (resolution, resolution)
                assert image.mode == "RGB"


def test_file_like_uploads_and_determinism() -> None:
    class Field:  # the shape of aiohttp's FileField
        def __init__(self, filename: str, data: bytes) -> None:
            self.filename = filename
            self.file = io.BytesIO(data)

    data = [_png(seed=i, size=(100, 70)) for i in range(3)]
    first = prepare_training_images(
        [Field(f"{i}.png", d) for i, d in enumerate(data)], resolution=64
    )
    second = prepare_training_images([(f"{i}.png", d) for i, d in enumerate(data)], resolution=64)
    assert first == second
    assert len(set(first)) == 3


def test_error_names_are_sanitised() -> None:
    error = _rejected([*_good(3), ("../../etc/\x1b[31mevil\n.png", b"text")])
    # The path is dropped and control characters removed; printable text stays.
    assert 'Image 4 ("[31mevil.png")' in error.message


def test_unusual_modes_become_rgb() -> None:
    base = _picture(100, 80, seed=3)
    grey16 = Image.fromarray(np.arange(100 * 80, dtype=np.uint16).reshape(80, 100) * 8)
    palette = base.convert("P")
    palette.info["transparency"] = 0
    uploads = [
        ("cmyk.jpg", _encode(base.convert("CMYK"), "JPEG")),
        ("grey16.png", _encode(grey16, "PNG")),
        ("palette.png", _encode(palette, "PNG", transparency=0)),
        ("grey.webp", _encode(base.convert("L"), "WEBP")),
    ]
    for out in prepare_training_images(uploads, resolution=64):
        with Image.open(io.BytesIO(out)) as image:
            assert (image.mode, image.size) == ("RGB", (64, 64))
    # 16-bit greys are scaled to 8 bits, not clipped to white.
    with Image.open(io.BytesIO(prepare_training_images(uploads, resolution=64)[1])) as image:
        assert 20 < float(np.asarray(image).mean()) < 235
