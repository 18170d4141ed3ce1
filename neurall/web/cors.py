"""CORS: which other origins' scripts may read responses, with the user's cookie.

Only trusted origins (NEURALL_PUBLIC_URL's and NEURALL_CORS_ORIGINS, see
neurall.web.origins) get CORS headers, always with credentials and the exact origin echoed
(never ``*``). Other origins get none, so the browser neither sends their preflighted
requests nor lets their scripts read a response. Preflights are answered here, before any
handler, with 204 for trusted origins and 403 otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from neurall.config import Settings
from neurall.web.csrf import CSRF_HEADERS
from neurall.web.origins import normalize_origin, trusted_origins

ALLOWED_METHODS = "GET, POST"
# Idempotency-Key: the OpenAI-compatible routes take it as a header (neurall.web.openai).
ALLOWED_HEADERS = ", ".join(("Authorization", "Content-Type", "Idempotency-Key", *CSRF_HEADERS))
EXPOSED_HEADERS = "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
PREFLIGHT_MAX_AGE_S = 600

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }


def cors_headers(request: web.Request, trusted: frozenset[str]) -> dict[str, str]:
    """The headers this middleware adds to a response to ``request``, for a handler that
    sends its response itself: the middleware sees such a response only once it is sent."""
    raw_origin = request.headers.get("Origin")
    origin = normalize_origin(raw_origin) if raw_origin else None
    if origin is None or origin not in trusted:
        return {"Vary": "Origin"}
    return {"Vary": "Origin", **_cors_headers(origin)}


def cors_middleware(settings: Settings) -> Callable[..., Awaitable[web.StreamResponse]]:
    trusted = trusted_origins(settings)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        raw_origin = request.headers.get("Origin")
        origin = normalize_origin(raw_origin) if raw_origin else None
        allowed = origin is not None and origin in trusted
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed or origin is None:
                return web.Response(status=403, headers={"Vary": "Origin"})
            return web.Response(
                status=204,
                headers={
                    **_cors_headers(origin),
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
                    "Vary": "Origin",
                },
            )
        response = await handler(request)
        # Responses differ by Origin: caches must not serve one origin's to another.
        if not response.prepared:
            response.headers.add("Vary", "Origin")
            if allowed and origin is not None:
                response.headers.update(_cors_headers(origin))
        return response

    return middleware
