"""Cross-site request forgery defence for cookie-authenticated requests.

The session cookie is SameSite=Lax, which already keeps it off cross-site POSTs in current
browsers; this middleware does not rely on that alone. For every state-changing request
(anything but GET, HEAD and OPTIONS) that is not authenticated by an API key:

1. ``Sec-Fetch-Site: cross-site`` is refused (403) unless the Origin is trusted.
2. An ``Origin`` header must be this host's, NEURALL_PUBLIC_URL's or in NEURALL_CORS_ORIGINS
   (403 otherwise; ``Origin: null`` included).
3. The body must be ``application/json`` (which a cross-site HTML form cannot send and
   which forces a CORS preflight from scripts), or ``multipart/form-data`` together with a
   non-empty ``X-Neurall-CSRF`` or ``apollo-require-preflight`` header (a custom header also
   forces a preflight). Anything else is 415.

Requests that carry ``Authorization`` are exempt: the server then authenticates them by
the key alone and ignores any cookie (neurall.web.auth), and a page on another origin
cannot add that header without passing a CORS preflight. Paths in ``CSRF_EXEMPT_PATHS``
authenticate in their own way and are exempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from neurall.config import Settings
from neurall.web.origins import origin_allowed, trusted_origins

# Each entry authenticates its requests without the session cookie.
CSRF_EXEMPT_PATHS = frozenset(
    {
        "/webhooks/stripe",  # Stripe-Signature (HMAC of the raw body)
        "/unsubscribe",  # RFC 8058 one-click POST from mail clients, with a signed token
    }
)
CSRF_HEADERS = ("X-Neurall-CSRF", "apollo-require-preflight")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def csrf_refusal(request: web.Request, trusted: frozenset[str]) -> web.Response | None:
    """The response that refuses ``request``, or None when it may proceed."""
    if request.method in SAFE_METHODS or request.path in CSRF_EXEMPT_PATHS:
        return None
    if "Authorization" in request.headers:
        return None
    if not origin_allowed(request, trusted):
        return _refuse(403, "cross-origin request refused")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site == "cross-site" and request.headers.get("Origin") is None:
        return _refuse(403, "cross-site request refused")
    content_type = request.content_type
    if content_type == "application/json":
        return None
    if content_type == "multipart/form-data" and any(
        request.headers.get(h, "").strip() for h in CSRF_HEADERS
    ):
        return None
    if content_type == "multipart/form-data":
        return _refuse(403, "multipart requests need the X-Neurall-CSRF header")
    return _refuse(415, "send application/json")


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"errors": [{"message": message}]}, status=status)


def csrf_middleware(settings: Settings) -> Callable[..., Awaitable[web.StreamResponse]]:
    trusted = trusted_origins(settings)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = csrf_refusal(request, trusted)
        return refusal if refusal is not None else await handler(request)

    return middleware
