"""Log records and what each one is about: the request id, operation and job id.

They live in context variables, set where a request or a job starts (neurall.web.request_id,
the GraphQL hooks, the worker's message middleware), so every line logged while handling it
carries them. ``NEURALL_LOG_FORMAT=json`` writes one JSON object per line; the text format
appends the request id. Only these fields and the message are written: never a request's
variables (prompts, keys, tokens), which no code passes to a logger.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str | None] = ContextVar("neurall_request_id", default=None)
OPERATION: ContextVar[str | None] = ContextVar("neurall_operation", default=None)
JOB_ID: ContextVar[str | None] = ContextVar("neurall_job_id", default=None)

# An incoming X-Request-Id is kept only if it is short and plain, so a caller cannot put
# arbitrary text (or a prompt) into the logs through it.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_FIELDS = {"request_id": REQUEST_ID, "operation": OPERATION, "job_id": JOB_ID}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def accept_request_id(incoming: str | None) -> str:
    """``incoming`` when well-formed, else a new id."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current() -> dict[str, str]:
    """The context's fields that are set (to carry them to another thread or process)."""
    return {name: value for name, var in _FIELDS.items() if (value := var.get()) is not None}


def restore(fields: Mapping[str, str | None]) -> None:
    """Set the fields ``current()`` returned (in a fresh context: a task or a thread)."""
    for name, var in _FIELDS.items():
        var.set(fields.get(name))


class ContextFilter(logging.Filter):
    """Copies the context's fields onto each record (for either format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _FIELDS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context's fields and a
    ``duration_ms`` passed as ``extra``; an exception's traceback as ``exc_info``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*_FIELDS, "duration_ms"):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [request_id={request_id}]" if request_id else text


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, to be replaced when the format changes (others, pytest's say, stay)."""


def configure(level: str, log_format: str = "text") -> None:
    """A root handler on stderr in the chosen format, replacing the one set before."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
