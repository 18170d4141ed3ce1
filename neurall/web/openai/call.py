"""What every OpenAI-compatible call goes through, around its handler.

In order: the caller is the API key in ``Authorization: Bearer`` (never a session cookie:
these routes are for programs, and a cookie-less API needs no CSRF token), with the scope
the route needs; one request is charged to the key's and the account's rate limits (the
same buckets and the same ``RateLimit-*`` fields as GraphQL, neurall.ratelimit); the
handler runs; domain errors and outages become OpenAI's error object
(neurall.web.openai.errors); and one usage row records the call, as GraphQL records an
operation (neurall.privacy.usage: what the server measured, never the request).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from neurall.accounts.viewer import Scope, Viewer
from neurall.errors import (
    DomainError,
    ForbiddenError,
    NotAuthenticatedError,
    RateLimitedError,
)
from neurall.metrics import OPENAI_CALLS, OPENAI_DURATION
from neurall.outages import is_outage
from neurall.privacy.usage import usage_row
from neurall.ratelimit import rate_limit_headers, take_request
from neurall.services import Services
from neurall.web.auth import viewer_for_api_key
from neurall.web.openai.errors import OpenAIError, from_domain, service_unavailable, unexpected

log = logging.getLogger(__name__)

NO_KEY = "Send an API key: Authorization: Bearer nk_..."
BAD_KEY = "The API key is not valid (revoked, or mistyped)."


@dataclass
class Call:
    """One call: its request, the caller, and what the answer and the usage row carry."""

    request: web.Request
    services: Services
    viewer: Viewer | None = None
    # Added to every answer, errors included (the RateLimit-* fields).
    headers: dict[str, str] = field(default_factory=dict)
    # What the call created, for its usage row (as GraphQL's Context keeps them).
    usage_reference: str | None = None
    usage_images: int = 0
    usage_model: str | None = None

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise NotAuthenticatedError(NO_KEY)
        return self.viewer


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


def route(
    services: Services, operation: str, handler: Handler, *, scope: Scope | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of ``handler``. ``scope``: the key's scope the route needs;
    None: anyone may call it, and a key, when sent, must still be valid."""

    async def serve(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        call = Call(request, services)
        try:
            response = await _run(call, handler, scope)
        except OpenAIError as exc:
            response = exc.response(call.headers)
        except DomainError as exc:
            response = from_domain(exc).response(call.headers)
        except Exception as exc:
            if is_outage(exc):
                log.warning("%s: service unavailable (%s)", operation, type(exc).__name__)
                response = service_unavailable().response(call.headers)
            else:
                # By type and traceback only: messages of some errors quote the request.
                log.error("unexpected error in %s", operation, exc_info=exc)
                response = unexpected().response(call.headers)
        elapsed = time.perf_counter() - started
        OPENAI_CALLS.labels(operation, str(response.status)).inc()
        OPENAI_DURATION.labels(operation).observe(elapsed)
        await _record_usage(call, operation, elapsed, response.status < 400)
        return response

    return serve


async def _run(call: Call, handler: Handler, scope: Scope | None) -> web.StreamResponse:
    authorization = call.request.headers.get("Authorization")
    if authorization is not None:
        call.viewer = await viewer_for_api_key(authorization)
        if call.viewer is None:
            raise NotAuthenticatedError(BAD_KEY)
    if scope is not None:
        viewer = call.require_viewer()
        if not viewer.has_scope(scope):
            raise ForbiddenError(f"This API key lacks the {scope.value} scope.")
    if call.viewer is not None:
        viewer = call.viewer
        api_key_id = viewer.api_key.id if viewer.api_key is not None else None
        try:
            quota = await take_request(call.services.rate_limits, viewer.account.id, api_key_id)
        except RateLimitedError as exc:
            call.headers.update(rate_limit_headers(None, exc.retry_after_s))
            raise
        call.headers.update(rate_limit_headers(quota))
    response = await handler(call)
    if not response.prepared:
        response.headers.update(call.headers)
    return response


async def _record_usage(call: Call, operation: str, elapsed_s: float, ok: bool) -> None:
    viewer = call.viewer
    if viewer is None or viewer.api_key is None:
        return
    row = usage_row(
        account_id=viewer.account.id,
        api_key_id=viewer.api_key.id,
        operation=operation,
        duration_ms=int(elapsed_s * 1000),
        ok=ok,
        ip=call.request.remote or "unknown",
        user_agent=call.request.headers.get("User-Agent", ""),
        ledger_reference=call.usage_reference,
        images=call.usage_images,
        model=call.usage_model,
    )
    try:
        await call.services.usage_log.add(row)
    except Exception:
        # A lost usage row must not fail the caller's request; the cause is logged.
        log.exception("could not record usage")
