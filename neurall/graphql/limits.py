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

import math

from aiohttp import web
from graphql import GraphQLError

from neurall.errors import RateLimitedError
from neurall.graphql.context import Context
from neurall.ratelimit import Quota


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
    limits = context.services.rate_limits
    try:
        # Check both before taking either, so a refused request costs nothing.
        if viewer.api_key is not None:
            await limits.per_api_key.check(viewer.api_key.id)
        await limits.per_account.check(viewer.account.id)
        quotas = []
        if viewer.api_key is not None:
            quotas.append(await limits.per_api_key.take(viewer.api_key.id))
        quotas.append(await limits.per_account.take(viewer.account.id))
    except RateLimitedError as exc:
        _set_headers(context, None, exc.retry_after_s)
        raise RateLimitedGraphQLError(exc) from None
    _set_headers(context, min(quotas, key=lambda q: q.remaining), None)


def _set_headers(context: Context, quota: Quota | None, retry_after_s: float | None) -> None:
    response = context.response
    if not isinstance(response, web.Response):
        return  # a websocket: its handshake's headers are long gone
    if quota is None:
        response.headers["RateLimit-Remaining"] = "0"
        response.headers["RateLimit-Reset"] = str(math.ceil(retry_after_s or 0))
        return
    response.headers["RateLimit-Limit"] = str(quota.limit)
    response.headers["RateLimit-Remaining"] = str(quota.remaining)
    response.headers["RateLimit-Reset"] = str(quota.reset_s)
