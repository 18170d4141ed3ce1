"""Every failure the SDK raises is a ``NeurallError``. The API's expected failures (the
contract's ``UserError`` union members) each have their own class; HTTP 503, 429 and
network failures that outlast the retries have theirs too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "FieldError",
    "InsufficientCreditsError",
    "InvalidInputError",
    "NetworkError",
    "NeurallError",
    "NotFoundError",
    "PermissionError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "SpendLimitReachedError",
]


class NeurallError(Exception):
    """Base of every error of this package. ``code``: the API's ErrorCode (or
    SERVICE_UNAVAILABLE), when the server gave one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class FieldError:
    """One input field the server refused, with a sentence for a person."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.message!r})"


class InvalidInputError(NeurallError):
    """The input was refused; ``fields`` are the input paths (``input.width``)."""

    def __init__(
        self, message: str, fields: Sequence[str], errors: Sequence[FieldError] = ()
    ) -> None:
        super().__init__(message, code="INVALID_INPUT")
        self.fields = list(fields)
        self.errors = list(errors)


class InsufficientCreditsError(NeurallError):
    def __init__(self, message: str, required: int, available: int) -> None:
        super().__init__(message, code="INSUFFICIENT_CREDITS")
        self.required, self.available = required, available


class RateLimitedError(NeurallError):
    """Too many requests; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message, code="RATE_LIMITED")
        self.retry_after = retry_after


class SpendLimitReachedError(NeurallError):
    """The API key's own spending cap for the period is used up."""

    def __init__(
        self,
        message: str,
        limit: int | None = None,
        spent: int | None = None,
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(message, code="SPEND_LIMIT_REACHED")
        self.limit, self.spent, self.resets_at = limit, spent, resets_at


class NotFoundError(NeurallError):
    """No such object, or it is someone else's (the server gives both the same answer)."""

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message, code="NOT_FOUND")


class ConflictError(NeurallError):
    """The request conflicts with the current state (e.g. an idempotency key reused with
    another input, or canceling a job that has ended)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="CONFLICT")


class AuthenticationError(NeurallError):
    """No valid API key."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="NOT_AUTHENTICATED")


class PermissionError(NeurallError):
    """The key may not do this (a missing scope, or an operation that needs a session)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="FORBIDDEN")


class ServiceUnavailableError(NeurallError):
    """HTTP 503: a service the request needs is down; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, code="SERVICE_UNAVAILABLE")
        self.retry_after = retry_after


class NetworkError(NeurallError):
    """The server could not be reached, or did not answer in time, after every retry."""


def from_user_error(result: Any) -> NeurallError:
    """The exception for one of the contract's UserError union members (a generated model
    with ``typename__``, ``message`` and the member's own fields)."""
    kind = result.typename__
    message: str = result.message
    if kind == "InvalidInput":
        errors = [FieldError(e.field, e.message) for e in result.errors]
        return InvalidInputError(message, result.fields, errors)
    if kind == "InsufficientCredits":
        return InsufficientCreditsError(message, result.required, result.available)
    if kind == "RateLimited":
        return RateLimitedError(message, result.retry_after_seconds)
    if kind == "SpendLimitReached":
        return SpendLimitReachedError(message, result.limit, result.spent, result.resets_at)
    if kind == "NotFound":
        return NotFoundError(message)
    if kind == "Conflict":
        return ConflictError(message)
    if kind == "NotAuthenticated":
        return AuthenticationError(message)
    if kind == "Forbidden":
        return PermissionError(message)
    return NeurallError(message, code=getattr(result, "code", None))
