"""OpenAI's error object, and the domain's errors in it.

Clients of OpenAI's API (the official SDKs first) pick the exception they raise from the
HTTP status and read ``{"error": {"message", "type", "param", "code"}}``. Each domain error
gets the status that makes them raise the matching exception: 400 BadRequestError naming
the request field at fault in ``param``, 401 AuthenticationError, 403 PermissionDeniedError,
429 RateLimitError (rate limits, and spent credits or a reached spend limit as OpenAI's
``insufficient_quota``), 503 during an outage (with Retry-After).

The SDKs retry 408, 409, 429 and 5xx answers unless told otherwise by ``x-should-retry``.
A retry of a generation that did run (a 504 while the job goes on, a failed job) would
start and charge a new job, and one refused for want of credits cannot succeed, so those
answers say ``x-should-retry: false``; a rate limit or an outage keeps the default.
"""

from __future__ import annotations

import math
import re

from aiohttp import web

from neurall import errors
from neurall.outages import MESSAGE as OUTAGE_MESSAGE
from neurall.outages import RETRY_AFTER_S

INVALID_REQUEST = "invalid_request_error"

# The domain's field paths (GraphQL's input paths) by the request field they came from.
_PARAMS = {
    "input.width": "size",
    "input.height": "size",
    "input.numImages": "n",
    "input.initImage": "image",
    "idempotencyKey": "Idempotency-Key",
}


def param_for(field: str) -> str:
    """The OpenAI request field for a domain field path: "input.numImages" -> "n",
    "input.guidanceScale" -> "guidance_scale"."""
    if field in _PARAMS:
        return _PARAMS[field]
    name = field.removeprefix("input.").split(".")[0]
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class OpenAIError(Exception):
    """An answer in OpenAI's error shape, raised from anywhere in a call."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        retry: bool | None = None,
        **extra: object,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, object] = {
            "message": message,
            "type": kind,
            "param": param,
            "code": code,
            **extra,
        }
        self.headers = dict(headers or {})
        if retry is not None:
            self.headers["x-should-retry"] = "true" if retry else "false"

    def response(self, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(
            {"error": self.body}, status=self.status, headers={**(headers or {}), **self.headers}
        )


def invalid(message: str, param: str) -> OpenAIError:
    return OpenAIError(400, message, param=param)


def from_domain(exc: errors.DomainError) -> OpenAIError:
    """The OpenAI answer for a domain error."""
    match exc:
        case errors.InvalidInputError():
            param = param_for(exc.fields[0]) if exc.fields else None
            return OpenAIError(400, exc.message, param=param, code="invalid_value")
        case errors.NotAuthenticatedError():
            return OpenAIError(401, exc.message, code="invalid_api_key")
        case errors.ForbiddenError():
            return OpenAIError(403, exc.message, kind="permission_error", code="forbidden")
        case errors.NotFoundError():
            return OpenAIError(404, exc.message, code="not_found")
        case errors.ConflictError():
            return OpenAIError(409, exc.message, code="conflict", retry=False)
        case errors.InsufficientCreditsError() | errors.SpendLimitReachedError():
            return OpenAIError(
                429, exc.message, kind="insufficient_quota", code="insufficient_quota", retry=False
            )
        case errors.RateLimitedError():
            return OpenAIError(
                429,
                exc.message,
                kind="requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
            )
    return OpenAIError(400, exc.message)


def service_unavailable() -> OpenAIError:
    return OpenAIError(
        503,
        OUTAGE_MESSAGE,
        kind="server_error",
        code="service_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def unexpected() -> OpenAIError:
    return OpenAIError(500, "Unexpected error.", kind="server_error", code="internal_error")
