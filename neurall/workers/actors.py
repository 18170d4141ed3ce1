"""The generation and clone-training actors: queue, time limit and retries of each.

Actors take only ids (never a request: see neurall.storage.payloads) and are idempotent,
because RabbitMQ delivers at least once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import dramatiq
from dramatiq.middleware import TimeLimitExceeded

from neurall.clones.runtime import CloneRuntime
from neurall.clones.training import run_training
from neurall.config import Settings
from neurall.generation.runtime import GenerationRuntime
from neurall.generation.service import fail
from neurall.outages import is_outage
from neurall.webhooks.http import ResolverFactory
from neurall.workers.broker import enqueuer, queue_depth
from neurall.workers.dead_letters import GENERATE_ACTOR, FailDeadLetteredJobs
from neurall.workers.delivery import MESSAGE_ID
from neurall.workers.events import declare_event_actors
from neurall.workers.generation import RetryLater, run_job
from neurall.workers.mail import MailQueue, declare_mail_actors
from neurall.workers.maintenance import MaintenanceQueue, declare_maintenance_actors
from neurall.workers.webhooks import declare_webhook_actors

log = logging.getLogger(__name__)

GENERATION_QUEUE = "generation"
# Training has its own queue: minutes-long jobs must not wait behind (or hold up) images,
# and workers with the GPU memory for it can consume it alone.
TRAINING_QUEUE = "training"
TRAIN_ACTOR = "train_clone"


def declare_generation_actor(
    broker: dramatiq.Broker, runtime: GenerationRuntime, settings: Settings
) -> dramatiq.Actor:
    """The generation actor: takes only the job id (never the request: see payloads). Each
    message is a turn: it starts the job the queue's rule picks (neurall.generation.turns)."""

    async def generate_image(job_id: str) -> None:
        try:
            await _through_outages(job_id)
        except (RetryLater, asyncio.CancelledError):
            raise  # retried, or interrupted (time limit, shutdown): a later attempt resumes
        except Exception as exc:
            if is_outage(exc):
                # Down for longer than a lease: Dramatiq's retry (the job's lease and the
                # reaper cover a retry the broker could not take).
                log.warning("job %s: %s, retrying later", job_id, type(exc).__name__)
                raise RetryLater(type(exc).__name__) from exc
            # A bug: the message will not be retried, so the job must not stay RUNNING
            # with its credits held.
            log.exception("job %s failed unexpectedly", job_id)
            try:
                await fail(uuid.UUID(job_id), "The job failed unexpectedly.", runtime)
            except Exception:
                log.exception("could not mark job %s failed", job_id)
            raise

    async def _through_outages(job_id: str) -> None:
        """Run the job, retrying in place while the database or the broker is down, for up
        to a lease: the message stays unacknowledged meanwhile, so a retry never depends on
        the broker that is down (a retry Dramatiq cannot enqueue is lost, and its message
        acknowledged all the same), and a worker that dies here gets it redelivered."""
        delay = settings.generation_min_backoff_ms / 1000
        deadline = time.monotonic() + settings.job_lease_s
        while True:
            try:
                await run_job(job_id, runtime, message_id=MESSAGE_ID.get())
                return
            except Exception as exc:
                if not is_outage(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning("job %s: %s, retrying in %.0f s", job_id, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.generation_max_backoff_ms / 1000)

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


def declare_training_actor(
    broker: dramatiq.Broker, runtime: CloneRuntime, settings: Settings
) -> dramatiq.Actor:
    """The clone training actor: takes only the clone id.

    Never retried by Dramatiq: the body ends every attempt itself (READY or FAILED, photos
    deleted). Only a worker that died mid-training gets the message back from RabbitMQ,
    and the body then starts that clone over (see neurall.clones.training)."""

    async def train_clone(clone_id: str) -> None:
        await run_training(clone_id, runtime)

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


def declare_actors(
    broker: dramatiq.Broker,
    generation: GenerationRuntime,
    clones: CloneRuntime,
    settings: Settings,
    webhook_resolver: ResolverFactory | None = None,
) -> tuple[MaintenanceQueue, MailQueue]:
    """Declare every actor on ``broker`` (the API process, embedded or not, and each
    `neurall worker` declare the same set), and point the runtimes' enqueue at them.
    ``webhook_resolver``: the DNS resolver deliveries connect through (tests bring one)."""
    mail = declare_mail_actors(broker, settings)
    generate = declare_generation_actor(broker, generation, settings)
    generation.set_enqueue(enqueuer(generate), queue_depth(broker, GENERATION_QUEUE))
    clones.set_enqueue(enqueuer(declare_training_actor(broker, clones, settings)))
    maintenance = declare_maintenance_actors(broker, generation, settings, mail)
    maintenance.webhooks = declare_webhook_actors(broker, settings, webhook_resolver)
    maintenance.events = declare_event_actors(broker, settings, mail)
    return maintenance, mail
