"""The playground's session cookie.

``__Host-`` prefixed, Secure, HttpOnly, SameSite=Lax, path /. For local development over
plain http, ``NEURALL_INSECURE_LOCALHOST_COOKIES`` (on by default, forced off in production)
drops Secure and the prefix, but only for requests addressed to a loopback host.
"""

from __future__ import annotations

from aiohttp import web

from neurall.config import Settings

SECURE_NAME = "__Host-neurall_session"
INSECURE_NAME = "neurall_session"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _insecure_allowed(request: web.Request, settings: Settings) -> bool:
    return (
        settings.insecure_localhost_cookies
        and not request.secure
        and (request.url.host or "") in _LOOPBACK_HOSTS
    )


def cookie_name(request: web.Request, settings: Settings) -> str:
    return INSECURE_NAME if _insecure_allowed(request, settings) else SECURE_NAME


def read_session_token(request: web.Request, settings: Settings) -> str | None:
    return request.cookies.get(cookie_name(request, settings)) or None


def set_session_cookie(
    response: web.StreamResponse, request: web.Request, settings: Settings, token: str
) -> None:
    response.set_cookie(
        cookie_name(request, settings),
        token,
        max_age=settings.session_absolute_timeout_s,
        path="/",
        secure=not _insecure_allowed(request, settings),
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(
    response: web.StreamResponse, request: web.Request, settings: Settings
) -> None:
    response.del_cookie(
        cookie_name(request, settings),
        path="/",
        secure=not _insecure_allowed(request, settings),
        httponly=True,
        samesite="Lax",
    )
