"""Expected failures of domain operations.

Domain functions raise these; the GraphQL layer turns each into the contract's UserError
member of the same name, and anything else is masked as an unexpected error. Messages are
shown to the caller, so they never carry secrets, prompts or other users' data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(DomainError):
    """Input that was refused. ``fields`` are the input paths at fault ("input.steps");
    ``errors`` gives each of them a sentence written for a person, naming no internal field
    ("Steps must be between 1 and 150."), which the app shows beside that field;
    ``message`` sums them up. Raised with one message, every field gets that message."""

    def __init__(
        self, message: str, fields: list[str], errors: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.fields = fields
        self.errors: dict[str, str] = (
            dict(errors) if errors is not None else dict.fromkeys(fields, message)
        )

    @classmethod
    def per_field(cls, errors: Mapping[str, str]) -> InvalidInputError:
        """One error for several fields, each with its own sentence (sorted by path)."""
        ordered = dict(sorted(errors.items()))
        return cls(" ".join(ordered.values()), list(ordered), ordered)


class NotAuthenticatedError(DomainError):
    def __init__(self, message: str = "Sign in or send an API key.") -> None:
        super().__init__(message)


class ForbiddenError(DomainError):
    pass


class NotFoundError(DomainError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class ConflictError(DomainError):
    pass


class BillingUnavailableError(DomainError):
    pass


class RateLimitedError(DomainError):
    def __init__(self, retry_after_s: float, message: str = "Too many requests.") -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InsufficientCreditsError(DomainError):
    def __init__(self, required: int, available: int) -> None:
        super().__init__(f"This needs {required} credits; {available} are available.")
        self.required = required
        self.available = available


class SpendLimitReachedError(DomainError):
    """An API key's own cap for the current period would be passed."""

    def __init__(self, limit: int, spent: int, resets_at: datetime) -> None:
        super().__init__(
            f"This API key may spend {limit} credits per period; {spent} are spent or held."
        )
        self.limit = limit
        self.spent = spent
        self.resets_at = resets_at
