"""Which message a worker thread is processing, for the generation actor.

A generation message is a turn (neurall.generation.turns): the job it starts is recorded
with the message's id (``Job.started_by``). When the same message comes back, its earlier
handling is over: RabbitMQ redelivered it because the worker that held it went away, or
Dramatiq retries it after a time limit. The actor then takes over the run that message
started, at once, instead of waiting for its lease to expire. The id travels into the
actor's coroutine with the log context (neurall.workers.server_loop).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

MESSAGE_ID: ContextVar[str | None] = ContextVar("neurall_message_id", default=None)


class NoteDelivery(Middleware):
    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        MESSAGE_ID.set(str(message.message_id))
