"""Per-request rate limits, applied to every authenticated GraphQL operation.

Applied by the schema's extension (neurall.graphql.schema.ServerHooks) rather than a
resolver decorator, so that no field can forget it: each operation (a query, a mutation,
or one subscription started over a socket) takes one token from the caller's account
bucket and, for API-key callers, one from the key's bucket. Anonymous operations are not
counted here: the only ones that do work are signUp and logIn, which ``AuthThrottle``
limits per IP and per e-mail.

A limited operation is not executed; it gets one error with ``extensions.code`` RATE_LIMITED
and ``extensions.retryAfterSeconds``, the same fields as the contract's RateLimited type.

Every HTTP answer to an authenticated operation carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (the IETF RateLimit header fields draft:
delta seconds until the bucket is full), for whichever of the caller's buckets has the
fewest tokens left, so clients can pace themselves before they are refused.
"""

from __future__ import annotations

from aiohttp import web
from graphql import GraphQLError

from neurall.errors import RateLimitedError
from neurall.graphql.context import Context
from neurall.ratelimit import rate_limit_headers, take_request


class RateLimitedGraphQLError(GraphQLError):
    """Top-level form of RateLimited for operations refused before any resolver ran."""

    def __init__(self, exc: RateLimitedError) -> None:
        super().__init__(
            exc.message,
            extensions={"code": "RATE_LIMITED", "retryAfterSeconds": exc.retry_after_s},
        )


async def limit_operation(context: object) -> None:
    """Charge an authenticated operation (``context``: the operation's context) or raise."""
    if isinstance(context, Context) and context.viewer is not None:
        await take_request_tokens(context)


async def take_request_tokens(context: Context) -> None:
    """Charge one request to the caller's key and account, or raise (charging neither)."""
    viewer = context.viewer
    if viewer is None:
        return
    api_key_id = viewer.api_key.id if viewer.api_key is not None else None
    try:
        quota = await take_request(context.services.rate_limits, viewer.account.id, api_key_id)
    except RateLimitedError as exc:
        _set_headers(context, rate_limit_headers(None, exc.retry_after_s))
        raise RateLimitedGraphQLError(exc) from None
    _set_headers(context, rate_limit_headers(quota))


def _set_headers(context: Context, headers: dict[str, str]) -> None:
    response = context.response
    if isinstance(response, web.Response):  # not a websocket: its handshake's are long gone
        response.headers.update(headers)
