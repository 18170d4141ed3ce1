"""The one broker setup: which Dramatiq broker, its middleware, and the actors on it.

- Embedded (no NEURALL_BROKER_URL): a StubBroker consumed by worker threads inside
  `neurall serve`. Async actors run on the server's own event loop (``ServerLoop``), where
  Tortoise, the event bus and the inference backend already live.
- Distributed: a RabbitmqBroker with ``confirm_delivery=True`` (a publish returns only once
  RabbitMQ has the message) and the AsyncIO middleware; `neurall worker` initialises
  Tortoise and the rest on that middleware's event-loop thread (``WorkerResources``).

Nothing connects here: pika connects on the first enqueue or consume.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Interrupt, Middleware, TimeLimitExceeded

from neurall.clones.runtime import CloneRuntime
from neurall.clones.training import run_training
from neurall.config import Settings
from neurall.generation.service import fail
from neurall.workers.generation import RetryLater, run_job
from neurall.workers.runtime import GenerationRuntime

log = logging.getLogger(__name__)

GENERATION_QUEUE = "generation"
GENERATE_ACTOR = "generate_image"
# Training has its own queue: minutes-long jobs must not wait behind (or hold up) images,
# and workers with the GPU memory for it can consume it alone.
TRAINING_QUEUE = "training"
TRAIN_ACTOR = "train_clone"
R = TypeVar("R")


def build_broker(settings: Settings, *, worker: bool = False) -> dramatiq.Broker:
    if settings.is_embedded_broker:
        return StubBroker()
    broker = RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    if worker:
        broker.add_middleware(AsyncIO())
    return broker


def declare_generation_actor(
    broker: dramatiq.Broker, runtime: Callable[[], GenerationRuntime], settings: Settings
) -> dramatiq.Actor:
    """The generation actor: takes only the job id (never the request: see payloads)."""

    async def generate_image(job_id: str) -> None:
        try:
            await run_job(job_id, runtime())
        except (RetryLater, asyncio.CancelledError):
            raise  # retried, or interrupted (time limit, shutdown): a later attempt resumes
        except Exception:
            # A bug or a lost database: the message will not be retried, so the job must
            # not stay RUNNING with its credits held.
            log.exception("job %s failed unexpectedly", job_id)
            try:
                await fail(uuid.UUID(job_id), "The job failed unexpectedly.", runtime())
            except Exception:
                log.exception("could not mark job %s failed", job_id)
            raise

    broker.add_middleware(FailDeadLetteredJobs(runtime))
    return dramatiq.Actor(
        generate_image,
        broker=broker,
        actor_name=GENERATE_ACTOR,
        queue_name=GENERATION_QUEUE,
        priority=0,
        options={
            "max_retries": settings.generation_max_retries,
            "min_backoff": settings.generation_min_backoff_ms,
            "max_backoff": settings.generation_max_backoff_ms,
            "time_limit": settings.generation_time_limit_s * 1000,
            # Only "try again later" and the time limit are retried (run_job fails a job
            # after too many attempts); anything else ended the job already or is a bug,
            # and retrying a bug five times helps nobody.
            "retry_when": lambda retries, exc: (
                isinstance(exc, RetryLater | TimeLimitExceeded)
                and retries < settings.generation_max_retries
            ),
        },
    )


class FailDeadLetteredJobs(Middleware):
    """A generation message given up on (time limit on its last retry) is dead-lettered
    holding only the job id; the job itself is failed here, refunded, and its payload
    deleted, so nothing of an API job's request outlives it."""

    def __init__(self, runtime: Callable[[], GenerationRuntime]) -> None:
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
            job_id = uuid.UUID(str(message.args[0]))
            loop.run_coroutine(fail(job_id, "The job could not be completed.", self.runtime()))
        except Exception:
            log.exception("could not fail dead-lettered message %s", message.message_id)


def declare_training_actor(
    broker: dramatiq.Broker, runtime: Callable[[], CloneRuntime], settings: Settings
) -> dramatiq.Actor:
    """The clone training actor: takes only the clone id.

    Never retried by Dramatiq: the body ends every attempt itself (READY or FAILED, photos
    deleted). Only a worker that died mid-training gets the message back from RabbitMQ,
    and the body then starts that clone over (see neurall.clones.training)."""

    async def train_clone(clone_id: str) -> None:
        await run_training(clone_id, runtime())

    return dramatiq.Actor(
        train_clone,
        broker=broker,
        actor_name=TRAIN_ACTOR,
        queue_name=TRAINING_QUEUE,
        priority=0,
        options={
            "max_retries": 0,
            "time_limit": settings.clone_training_time_limit_s * 1000,
            "retry_when": lambda retries, exc: False,
        },
    )


def enqueuer(actor: dramatiq.Actor) -> Callable[[uuid.UUID], Awaitable[None]]:
    async def enqueue(job_id: uuid.UUID) -> None:
        # pika is blocking: publish (and wait for RabbitMQ's confirm) off the loop.
        await asyncio.to_thread(actor.send, str(job_id))

    return enqueue


class ServerLoop:
    """Dramatiq's event-loop-thread interface backed by a running loop and a captured
    context, so actors share the server's (or worker's) Tortoise connections and event bus.

    Tortoise 1.x keeps its connections in a context variable: a coroutine submitted from a
    worker thread would run in that thread's empty context, so it runs in ``context`` (a
    copy taken where Tortoise was initialised) instead.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, context: contextvars.Context | None = None
    ) -> None:
        self.loop = loop
        self.context = context or contextvars.copy_context()
        self._running: set[concurrent.futures.Future[Any]] = set()

    def run_coroutine(self, coro: Awaitable[R]) -> R:
        # run_coroutine_threadsafe schedules with a copy of the calling context: make that
        # the captured one.
        future = self.context.copy().run(
            asyncio.run_coroutine_threadsafe,
            coro,  # type: ignore[arg-type]
            self.loop,
        )
        self._running.add(future)
        try:
            while True:
                try:
                    return future.result(timeout=0.1)
                except concurrent.futures.TimeoutError:
                    continue
                except Interrupt:
                    # TimeLimit or shutdown interrupted the worker thread: stop the job.
                    future.cancel()
                    raise
        finally:
            self._running.discard(future)

    def cancel_all(self) -> None:
        for future in list(self._running):
            future.cancel()
