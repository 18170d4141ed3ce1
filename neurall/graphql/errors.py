"""The contract's UserError types, and the conversion from domain errors.

Expected failures are data: members of each mutation's result union. ``PublicError`` is for
the few fields whose type has no union (``apiKeys``, subscriptions): it reaches the caller
with its message and code, while every other exception is masked by ``MaskErrors``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import ParamSpec, TypeVar

import strawberry
from graphql import GraphQLError

from neurall import errors


@strawberry.enum(description="Machine-readable kind of a UserError.")
class ErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    RATE_LIMITED = "RATE_LIMITED"
    CONFLICT = "CONFLICT"
    BILLING_UNAVAILABLE = "BILLING_UNAVAILABLE"
    SPEND_LIMIT_REACHED = "SPEND_LIMIT_REACHED"


@strawberry.interface(description="An expected failure, returned as data.")
class UserError:
    code: ErrorCode
    message: str


@strawberry.type(description="One rejected input field and what is wrong with it.")
class FieldError:
    field: str = strawberry.field(description="The input field path, as in InvalidInput.fields.")
    message: str = strawberry.field(
        description='e.g. "Steps must be between 1 and 150 for this model."'
    )


@strawberry.type(description="The input was rejected; nothing was changed.")
class InvalidInput(UserError):
    fields: list[str] = strawberry.field(
        description='Input field paths that failed, e.g. ["input.width"].'
    )
    errors: list[FieldError] = strawberry.field(
        description="Each failed field with a message written for a person, to show beside it."
    )


@strawberry.type(description="Sign in, or send a valid API key.")
class NotAuthenticated(UserError):
    pass


@strawberry.type(description="The caller may not do this (e.g. an API key lacks the scope).")
class Forbidden(UserError):
    pass


@strawberry.type(description="No such object, or it belongs to someone else.")
class NotFound(UserError):
    pass


@strawberry.type(description="The request conflicts with the current state.")
class Conflict(UserError):
    pass


@strawberry.type(description="Payments are not configured on this server.")
class BillingUnavailable(UserError):
    pass


@strawberry.type(description="Not enough credits are available.")
class InsufficientCredits(UserError):
    required: int
    available: int


@strawberry.type(description="Too many requests; retry later.")
class RateLimited(UserError):
    retry_after_seconds: float


@strawberry.type(description="The API key's own spending cap for the current period is used up.")
class SpendLimitReached(UserError):
    limit: int
    spent: int
    resets_at: datetime


def user_error(exc: errors.DomainError) -> UserError:
    """The contract type for a domain error."""
    match exc:
        case errors.InvalidInputError():
            return InvalidInput(
                code=ErrorCode.INVALID_INPUT,
                message=exc.message,
                fields=exc.fields,
                errors=[FieldError(field=f, message=m) for f, m in exc.errors.items()],
            )
        case errors.NotAuthenticatedError():
            return NotAuthenticated(code=ErrorCode.NOT_AUTHENTICATED, message=exc.message)
        case errors.ForbiddenError():
            return Forbidden(code=ErrorCode.FORBIDDEN, message=exc.message)
        case errors.NotFoundError():
            return NotFound(code=ErrorCode.NOT_FOUND, message=exc.message)
        case errors.ConflictError():
            return Conflict(code=ErrorCode.CONFLICT, message=exc.message)
        case errors.BillingUnavailableError():
            return BillingUnavailable(code=ErrorCode.BILLING_UNAVAILABLE, message=exc.message)
        case errors.InsufficientCreditsError():
            return InsufficientCredits(
                code=ErrorCode.INSUFFICIENT_CREDITS,
                message=exc.message,
                required=exc.required,
                available=exc.available,
            )
        case errors.SpendLimitReachedError():
            return SpendLimitReached(
                code=ErrorCode.SPEND_LIMIT_REACHED,
                message=exc.message,
                limit=exc.limit,
                spent=exc.spent,
                resets_at=exc.resets_at,
            )
        case errors.RateLimitedError():
            return RateLimited(
                code=ErrorCode.RATE_LIMITED,
                message=exc.message,
                retry_after_seconds=exc.retry_after_s,
            )
    raise TypeError(f"no UserError for {type(exc).__name__}")


class PublicError(GraphQLError):
    """A GraphQL error whose message is safe to show (not masked)."""

    def __init__(self, exc: errors.DomainError) -> None:
        super().__init__(exc.message, extensions={"code": user_error(exc).code.value})


def should_mask(error: GraphQLError) -> bool:
    """Mask exceptions raised by code; keep parse/validation errors and PublicErrors."""
    original = error.original_error
    if original is None:
        return False
    # A GraphQLError as the cause is the client's mistake found by graphql-core (e.g. a
    # variable of the wrong shape): shown to the caller, never logged, since its message
    # echoes the variables, prompts included.
    return not isinstance(original, GraphQLError | errors.DomainError)


ALL_ERROR_TYPES = (
    InvalidInput,
    NotAuthenticated,
    Forbidden,
    NotFound,
    Conflict,
    BillingUnavailable,
    InsufficientCredits,
    RateLimited,
    SpendLimitReached,
)


P = ParamSpec("P")
R = TypeVar("R")


def returns_user_errors(
    resolver: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R | UserError]]:
    """Return a raised DomainError as its UserError member instead of an error entry."""

    @functools.wraps(resolver)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | UserError:
        try:
            return await resolver(*args, **kwargs)
        except errors.DomainError as exc:
            return user_error(exc)

    return wrapper
