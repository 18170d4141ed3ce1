"""Whether the message a worker thread is processing was delivered before.

RabbitMQ redelivers a message whose consumer went away without acknowledging it: the
worker that ran the job died. The generation actor starts such a job over at once, while a
message for a job another live worker holds (a second copy the reaper sent) is dropped.
The flag travels into the actor's coroutine with the log context (neurall.workers.server_loop).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

REDELIVERED: ContextVar[bool] = ContextVar("neurall_redelivered", default=False)


class NoteRedelivery(Middleware):
    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        # Only RabbitMQ's messages carry the flag; the embedded queue never redelivers.
        REDELIVERED.set(bool(getattr(message, "redelivered", False)))
