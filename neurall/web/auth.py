"""Who is calling: an API key in ``Authorization: Bearer``, else the session cookie."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from neurall.accounts.api_keys import (
    REVOKED_MESSAGE,
    authenticate_api_key,
    presented_key_was_revoked,
)
from neurall.accounts.sessions import resolve_session
from neurall.accounts.viewer import Viewer
from neurall.config import Settings
from neurall.web.cookies import read_session_token


def bearer_token(value: str | None) -> str | None:
    """The token in an ``Authorization`` value, or None when it is not a Bearer one."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def viewer_for_api_key(authorization: str | None) -> Viewer | None:
    token = bearer_token(authorization)
    key = await authenticate_api_key(token) if token else None
    return Viewer(account=key.account, api_key=key) if key else None


async def refusal_for_api_key(authorization: str | None) -> str | None:
    """Why a presented key was refused, when the caller can be told: it was revoked."""
    token = bearer_token(authorization)
    if token and await presented_key_was_revoked(token):
        return REVOKED_MESSAGE
    return None


async def authenticate(request: web.Request, settings: Settings) -> Viewer | None:
    # A request that presents a key is judged by the key alone: a bad key must not fall
    # back to a cookie the client happens to carry.
    if "Authorization" in request.headers:
        return await viewer_for_api_key(request.headers["Authorization"])
    token = read_session_token(request, settings)
    if token is None:
        return None
    session = await resolve_session(token, settings.session_idle_timeout_s)
    if session is None or session.account.erased_at is not None:
        return None
    return Viewer(account=session.account, session=session)


def authorization_param(params: Mapping[str, object] | None) -> str | None:
    """The ``authorization`` entry of a graphql-transport-ws connection_init payload."""
    if not params:
        return None
    for key, value in params.items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value
    return None
