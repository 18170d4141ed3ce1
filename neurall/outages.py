"""Telling an outage of the database, the broker or the inference server from a bug.

An outage is transient: the same work succeeds once the service is back, so callers retry
with backoff (workers), answer 503 with Retry-After (the API), and never mark a job failed
or dead-letter its message because of one. Drivers wrap each other's errors (Tortoise
wraps asyncpg's, aio-pika aiormq's), so the whole cause chain is looked at.
"""

from __future__ import annotations

import aiormq.exceptions
import asyncpg
import pika.exceptions
from tortoise.exceptions import DBConnectionError

# Seconds a client is told to wait (Retry-After) while a service it needs is down: about
# a broker or database restart.
RETRY_AFTER_S = 5
# What clients are told, over GraphQL and plain HTTP alike.
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
MESSAGE = "A service Neurall needs is temporarily unavailable; retry in a few seconds."
EXTENSIONS = {"code": SERVICE_UNAVAILABLE, "retryAfterSeconds": RETRY_AFTER_S}

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted; aiormq's and asyncpg's connection errors too
    TimeoutError,
    DBConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    pika.exceptions.AMQPError,
)
# Errors of a closed client object, raised as plain RuntimeError or InterfaceError; and
# asyncpg's "another operation is in progress", which a pooled connection broken in the
# middle of a query (a database shutting down) leaves behind.
_CLOSED_MESSAGES = (
    "connection was not opened",
    "connection is closed",
    "channel is closed",
    "another operation",
)


class ServiceUnavailableError(Exception):
    """A service this request needs is down; retry after ``retry_after_s``."""

    def __init__(self, what: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(f"{what} is unavailable")
        self.what = what
        self.retry_after_s = retry_after_s


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything in its cause chain) means a service is down."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ServiceUnavailableError, *_OUTAGE_TYPES)):
            return True
        closed_types = (RuntimeError, asyncpg.InterfaceError, asyncpg.InternalClientError)
        if isinstance(current, closed_types) and any(
            m in str(current).lower() for m in _CLOSED_MESSAGES
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
