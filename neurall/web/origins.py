"""Which browser origins the server trusts.

The trusted set is the origin of ``NEURALL_PUBLIC_URL`` plus ``NEURALL_CORS_ORIGINS``. It is
the one list that CORS (credentials), CSRF (cookie-authenticated POSTs) and the websocket
handshake check consult, so allowing a front-end on another origin is one setting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from neurall.config import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` as browsers send it (lower case, default port left out);
    None for ``null`` or anything that is not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def trusted_origins(settings: Settings) -> frozenset[str]:
    origins = {normalize_origin(settings.public_url)}
    origins.update(normalize_origin(o) for o in settings.cors_origins.split(",") if o.strip())
    return frozenset(o for o in origins if o is not None)


def is_same_origin(request: web.Request, origin: str) -> bool:
    """The page that sent the request was served by this very host (Host is set by the
    browser, not the page). Covers development servers on ephemeral ports."""
    host = request.headers.get("Host")
    if not host:
        return False
    return normalize_origin(origin) == normalize_origin(f"{request.scheme}://{host}")


def origin_allowed(request: web.Request, trusted: frozenset[str]) -> bool:
    """True when the request has no Origin (not a cross-origin browser request) or its
    Origin is this host or a trusted one. ``Origin: null`` is never allowed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    normalized = normalize_origin(origin)
    return normalized is not None and (normalized in trusted or is_same_origin(request, origin))
