"""Turning the facade's arguments into the generated input types: files from paths, bytes
or open files as Uploads, and only the fields the caller gave."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Any, Union

from neurall_client._generated.base_model import Upload
from neurall_client._generated.enums import JobPriority, Scheduler
from neurall_client._generated.input_types import AdapterInput, CreateCloneInput, GenerateInput

FileLike = Union[str, "os.PathLike[str]", bytes, IO[bytes]]

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)


def upload(file: FileLike, name: str) -> Upload:
    """An Upload of a path, bytes or a binary file object. The server recognises the
    format from the bytes; the content type sent is a courtesy, sniffed the same way."""
    if isinstance(file, (str, os.PathLike)):
        path = Path(file)
        data, filename = path.read_bytes(), path.name
    elif isinstance(file, (bytes, bytearray)):
        data, filename = bytes(file), name
    else:
        data = file.read()
        filename = Path(getattr(file, "name", "") or name).name
    content_type = "application/octet-stream"
    for magic, kind, extension in _SIGNATURES:
        if data.startswith(magic):
            content_type = kind
            if filename == name:
                filename = f"{name}.{extension}"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        content_type = "image/webp"
    return Upload(filename=filename, content=io.BytesIO(data), content_type=content_type)


def generate_input(
    prompt: str,
    *,
    init_image: FileLike | None = None,
    mask: FileLike | None = None,
    adapters: dict[str, float] | None = None,
    priority: JobPriority | str | None = None,
    scheduler: Scheduler | str | None = None,
    **fields: Any,
) -> GenerateInput:
    """GenerateInput with the given fields only (the server applies its own defaults to the
    rest). ``adapters``: clone id to weight."""
    given: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if init_image is not None:
        given["init_image"] = upload(init_image, "init_image")
    if mask is not None:
        given["mask"] = upload(mask, "mask")
    if adapters is not None:
        given["adapters"] = [AdapterInput(cloneId=c, weight=w) for c, w in adapters.items()]
    if priority is not None:
        given["priority"] = JobPriority(priority)
    if scheduler is not None:
        given["scheduler"] = Scheduler(scheduler)
    return GenerateInput(prompt=prompt, **given)


def clone_input(
    name: str,
    *,
    base_model: str | None = None,
    trigger_word: str | None = None,
    training_steps: int | None = None,
) -> CreateCloneInput:
    given: dict[str, Any] = {"base_model": base_model, "trigger_word": trigger_word,
             "training_steps": training_steps}  # fmt: skip
    return CreateCloneInput(name=name, **{k: v for k, v in given.items() if v is not None})
