"""What the worker tells operators about each message: Prometheus figures and log context.

One Dramatiq middleware, on every broker (the `neurall worker` process and the queue
embedded in `neurall serve`). It counts messages by actor and outcome, times the wait in
the queue and the run, counts retries, and, for the duration of a message, sets the log
context: the request id the API sent along (message option ``request_id``) and the job id
(a generation message's argument, or the ``job_id`` option of a message sent while a job
was in the log context, such as the event relay's), so one request's lines all name its job.
Dramatiq's own Prometheus middleware is not used: it needs Dramatiq's forking CLI and a
multiprocess directory, and exports the same figures.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from neurall import logs
from neurall.metrics import (
    WORKER_MESSAGES,
    WORKER_MESSAGES_IN_PROGRESS,
    WORKER_QUEUE_WAIT,
    WORKER_RETRIES,
    WORKER_RUN_TIME,
)
from neurall.workers.dead_letters import GENERATE_ACTOR

log = logging.getLogger(__name__)

REQUEST_ID_OPTION = "request_id"
JOB_ID_OPTION = "job_id"
# Actors whose only argument is a generation job's id.
JOB_ACTORS = frozenset({GENERATE_ACTOR})


def message_options() -> dict[str, Any]:
    """Options to send a message with, so its worker logs under this request's (and job's) id."""
    context = {REQUEST_ID_OPTION: logs.REQUEST_ID.get(), JOB_ID_OPTION: logs.JOB_ID.get()}
    return {name: value for name, value in context.items() if value}


def _job_id(actor: str, message: Any) -> str | None:
    candidate = message.args[0] if actor in JOB_ACTORS and message.args else None
    candidate = candidate or message.options.get(JOB_ID_OPTION)
    try:
        # Only a well-formed id reaches a log line: a message can say anything.
        return str(uuid.UUID(str(candidate))) if candidate else None
    except ValueError:
        return None


class Observe(Middleware):
    def __init__(self) -> None:
        self._local = threading.local()  # before and after of a message share a thread

    def _actor(self, broker: dramatiq.Broker, message: Any) -> str:
        # Only declared actors name a label: a message can say anything.
        return message.actor_name if message.actor_name in broker.actors else "other"

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        actor = self._actor(broker, message)
        now_ms = time.time() * 1000
        # Queued since it was sent, or since its delay (a retry's backoff) ran out.
        ready_ms = max(message.message_timestamp, message.options.get("eta") or 0)
        WORKER_QUEUE_WAIT.labels(actor).observe(max(0.0, (now_ms - ready_ms) / 1000))
        if message.options.get("retries"):
            WORKER_RETRIES.labels(actor).inc()
        WORKER_MESSAGES_IN_PROGRESS.labels(actor).inc()
        self._local.started = (actor, time.monotonic())
        request_id = message.options.get(REQUEST_ID_OPTION)
        logs.restore(
            {
                "request_id": logs.accept_request_id(request_id) if request_id else None,
                "job_id": _job_id(actor, message),
            }
        )

    def _finish(self, broker: dramatiq.Broker, message: Any, outcome: str) -> None:
        started = getattr(self._local, "started", None)
        self._local.started = None
        actor = self._actor(broker, message)
        elapsed = None
        if started is not None:
            elapsed = time.monotonic() - started[1]
            WORKER_MESSAGES_IN_PROGRESS.labels(started[0]).dec()
            WORKER_RUN_TIME.labels(actor).observe(elapsed)
        WORKER_MESSAGES.labels(actor, outcome).inc()
        # One line per message, under its request and job id (the args are ids only).
        log.info(
            "%s %s",
            actor,
            outcome,
            extra={"duration_ms": None if elapsed is None else round(elapsed * 1000, 3)},
        )
        logs.restore({})

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._finish(broker, message, "done" if exception is None else "failed")

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self._finish(broker, message, "skipped")
