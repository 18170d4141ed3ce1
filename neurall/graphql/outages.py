"""GraphQL's answer while a service it needs is down: a typed, retryable error.

An operation that failed because the database, the broker or the inference server is down
gets ``extensions.code = "SERVICE_UNAVAILABLE"`` with ``retryAfterSeconds``, and over HTTP
the response is a 503 with ``Retry-After``, never the masked "Unexpected error.". Requests
that do not need the missing service are untouched. Subscriptions end with the same error
when the event bus loses the broker (the client resumes with ``afterSeq``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from aiohttp import web
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from neurall.outages import (
    EXTENSIONS,
    MESSAGE,
    RETRY_AFTER_S,
    ServiceUnavailableError,
    is_outage,
)

T = TypeVar("T")


def service_unavailable() -> GraphQLError:
    return GraphQLError(MESSAGE, extensions=dict(EXTENSIONS))


def replace_outage_errors(execution_context: ExecutionContext) -> None:
    """Turn the operation's errors caused by an outage into ``service_unavailable()``, and
    make an HTTP response a 503 with Retry-After."""
    result = execution_context.result
    errors = getattr(result, "errors", None)
    if not errors or not any(_is_outage(e) for e in errors):
        return
    result.errors = [service_unavailable() if _is_outage(e) else e for e in errors]  # type: ignore[union-attr]
    response = getattr(execution_context.context, "response", None)
    if isinstance(response, web.Response):  # not a websocket
        response.set_status(503)
        response.headers["Retry-After"] = str(RETRY_AFTER_S)


async def until_outage(events: AsyncIterator[T]) -> AsyncIterator[T]:
    """A subscription's live events, ending with SERVICE_UNAVAILABLE if the bus fails."""
    try:
        async for event in events:
            yield event
    except ServiceUnavailableError:
        raise service_unavailable() from None


def _is_outage(error: GraphQLError) -> bool:
    return error.original_error is not None and is_outage(error.original_error)
