"""HTTP's answer while a service a request needs is down: 503 with Retry-After.

Handlers (and the authentication in front of GraphQL, which reads the session or the API
key from the database) let an outage's exception escape; this middleware turns it into a
JSON 503 with ``Retry-After`` instead of aiohttp's plain-text 500. On /graphql the body is
a GraphQL response with the SERVICE_UNAVAILABLE error, so clients handle both alike.
"""

from __future__ import annotations

import logging

from aiohttp import web

from neurall.outages import EXTENSIONS, MESSAGE, RETRY_AFTER_S, SERVICE_UNAVAILABLE, is_outage

log = logging.getLogger(__name__)


@web.middleware
async def outage_middleware(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning(
            "%s %s: service unavailable (%s)", request.method, request.path, type(exc).__name__
        )
        if request.path == "/graphql":
            body: dict[str, object] = {"errors": [{"message": MESSAGE, "extensions": EXTENSIONS}]}
        else:
            body = {"error": MESSAGE, "code": SERVICE_UNAVAILABLE}
        return web.json_response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
