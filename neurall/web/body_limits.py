"""Request body size caps.

aiohttp has one ``client_max_size`` per application, and it must be large enough for a
clone's photo uploads (up to 20 files of 10 MB). A JSON GraphQL document, a webhook or a
form post is tiny by comparison, so every body that is not multipart gets a much smaller
cap here; otherwise anyone could make the server buffer hundreds of megabytes of JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from neurall.clones.uploads import MAX_FILE_BYTES, MAX_IMAGES

# Room for every photo at its limit plus form fields: an over-limit file still reaches the
# upload validation, which names it, instead of ending the request with a bare 413.
MULTIPART_MAX_BYTES = MAX_IMAGES * MAX_FILE_BYTES + 16 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def body_limit_middleware(max_body_bytes: int) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content_type == "multipart/form-data" or not request.can_read_body:
            return await handler(request)
        length = request.content_length
        if length is not None and length > max_body_bytes:
            # Refused from the header alone, before a byte of the body is read.
            return _too_large(max_body_bytes)
        # Chunked bodies have no length up front: reading more than the cap raises 413.
        return await handler(request.clone(client_max_size=max_body_bytes))

    return middleware


def _too_large(limit: int) -> web.Response:
    return web.json_response(
        {"errors": [{"message": f"The request body is larger than {limit} bytes."}]},
        status=413,
    )
