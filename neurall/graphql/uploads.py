"""Reading GraphQL multipart requests (the upload spec) for the aiohttp view.

Strawberry's own aiohttp adapter reads every file part whole into a nameless BytesIO. This
one keeps each file's name (so a rejected photo can be named back to the user), reads at
most ``MAX_FILE_BYTES + 1`` bytes of a file part (enough to know it is too big; the rest is
skipped, not buffered), and bounds the parts and bytes of the whole request, because a
streamed multipart body is not limited by aiohttp's ``client_max_size``. Files stay in
memory only: nothing of an upload touches the disk here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from cross_web import AiohttpHTTPRequestAdapter, FormData, HTTPException

from neurall.clones.uploads import MAX_FILE_BYTES, MAX_IMAGES

# More parts than this is not an upload this API accepts, whatever the operation.
MAX_PARTS = 4 * MAX_IMAGES
# Every photo at its limit, plus room for the operations document and the map.
MAX_REQUEST_BYTES = MAX_IMAGES * (MAX_FILE_BYTES + 1) + 2 * 1024 * 1024
MAX_FIELD_BYTES = 1024 * 1024
CHUNK = 64 * 1024


@dataclass
class UploadedFile:
    """One file part: what ``neurall.clones.uploads`` reads (``filename`` and ``file``)."""

    filename: str | None
    file: io.BytesIO
    content_type: str | None = None

    def __repr__(self) -> str:
        return f"UploadedFile({len(self.file.getbuffer())} bytes)"


class UploadRequestAdapter(AiohttpHTTPRequestAdapter):
    async def get_form_data(self) -> FormData:
        if self._form_data is not None:
            return self._form_data
        if not (self.content_type or "").startswith("multipart/form-data"):
            return await super().get_form_data()
        reader = await self.request.multipart()
        form: dict[str, Any] = {}
        files: dict[str, Any] = {}
        total = parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS or not part.name or not hasattr(part, "read_chunk"):
                raise HTTPException(400, "Too many or malformed multipart parts.")
            limit = MAX_FILE_BYTES + 1 if part.filename else MAX_FIELD_BYTES
            data, size = await _read_part(part, limit)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise HTTPException(413, "The upload is too large.")
            if part.filename:
                files[part.name] = UploadedFile(
                    part.filename, io.BytesIO(data), part.headers.get("Content-Type")
                )
            elif size > MAX_FIELD_BYTES:
                raise HTTPException(413, "A multipart form field is too large.")
            else:
                form[part.name] = data.decode(part.get_charset(default="utf-8"))
        self._form_data = FormData(files=files, form=form)
        return self._form_data


async def _read_part(part: Any, keep: int) -> tuple[bytes, int]:
    """The first ``keep`` bytes of the part and its full size (the rest is discarded)."""
    kept = bytearray()
    size = 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
        if size > MAX_REQUEST_BYTES:
            break
    return bytes(kept), size
