"""Every request gets an id: the caller's ``X-Request-Id`` when it is short and plain, a new
one otherwise. It is returned in the response's ``X-Request-Id``, set on every log line
written while the request is handled, and sent along with the jobs it enqueues, so the
worker's lines about that job carry it too (neurall.logs)."""

from __future__ import annotations

from aiohttp import web

from neurall.logs import REQUEST_ID, accept_request_id

HEADER = "X-Request-Id"


@web.middleware
async def request_id_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    request_id = accept_request_id(request.headers.get(HEADER))
    # The handler runs in this task, so it (and whatever it logs) sees the id.
    REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[HEADER] = request_id
        raise
    if not response.prepared:  # a websocket or a stream sent its headers already
        response.headers[HEADER] = request_id
    return response
