"""What happens to a generation message Dramatiq gives up on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from neurall.generation.runtime import GenerationRuntime
from neurall.generation.service import fail
from neurall.orm.jobs import Job, JobStatus

log = logging.getLogger(__name__)

GENERATE_ACTOR = "generate_image"


class FailDeadLetteredJobs(Middleware):
    """A generation message given up on (time limit on its last retry) is dead-lettered
    holding only a job id; the job that message's turn was running (``Job.started_by``,
    not necessarily the one it names: see neurall.generation.turns) is failed here,
    refunded, and its payload deleted, so nothing of an API job's request outlives it."""

    def __init__(self, runtime: GenerationRuntime) -> None:
        self.runtime = runtime
        # Messages cancelled by an embedded server's shutdown: their jobs are queued again
        # at the next start (neurall.workers.embedded), not failed.
        self._interrupted: set[str] = set()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        if isinstance(exception, asyncio.CancelledError | concurrent.futures.CancelledError):
            self._interrupted.add(message.message_id)

    async def _fail_its_run(self, message_id: str) -> None:
        job = await Job.get_or_none(status=JobStatus.RUNNING, started_by=message_id)
        if job is not None:
            await fail(job.id, "The job could not be completed.", self.runtime, job.attempts)

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        # Emitted (on the consumer thread) once a message is rejected for good.
        if message.message_id in self._interrupted:
            self._interrupted.discard(message.message_id)
            return
        if message.actor_name != GENERATE_ACTOR:
            return
        loop = get_event_loop_thread()
        if loop is None:
            return
        try:
            loop.run_coroutine(self._fail_its_run(message.message_id))
        except Exception:
            log.exception("could not fail dead-lettered message %s", message.message_id)
