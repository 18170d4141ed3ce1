"""Sending a stored object to a client, chunk by chunk, never holding it whole in memory.

Shared by the image and export downloads. A HEAD reads only the object's size (nothing is
delivered, so callers must not treat it as a download); a GET copies the store's stream to
the response as it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from neurall.storage import Storage

# Private results: no shared cache may keep them.
PRIVATE = {"Cache-Control": "private, no-store"}


async def send_object(
    request: web.Request,
    storage: Storage,
    key: str,
    *,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse | None:
    """Answer ``request`` with the object under ``key``; None when there is no such object.

    Returns once the last byte was written; a client that drops the connection midway makes
    the write raise, so a returned GET response means a complete download."""
    response = web.StreamResponse(headers={**PRIVATE, **(headers or {})})
    response.content_type = content_type
    if request.method == "HEAD":
        found = await storage.stat(key)
        if found is None:
            return None
        response.content_length = found.size
        await response.prepare(request)
        return response
    stream = await storage.open(key)
    if stream is None:
        return None
    async with stream:
        response.content_length = stream.size
        await response.prepare(request)
        async for chunk in stream:
            await response.write(chunk)
    await response.write_eof()
    return response
