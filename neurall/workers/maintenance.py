"""The maintenance queue: building data exports and running the retention policies.

Two actors on the ``maintenance`` queue, declared next to the generation actor (embedded:
consumed by `neurall serve`'s worker threads; distributed: by `neurall worker`):

- ``build_data_export(export_id)``: builds one export's zip (neurall.privacy.export);
- ``run_retention()``: runs every retention policy (neurall.retention.sweeper), then
  the job reaper (neurall.generation.reaper), which each process also runs on its own,
  and queues again the e-mail whose send was lost (neurall.workers.mail).

The same tick sweeps the webhooks and events queues for what was left behind.

A ticker sends ``run_retention`` every NEURALL_RETENTION_INTERVAL_S: an asyncio task in
embedded `neurall serve`, a thread in each `neurall worker` (several workers sweeping at
once is harmless: every policy is an idempotent bulk delete).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass

import dramatiq

from neurall.config import Settings
from neurall.generation.reaper import reap
from neurall.generation.runtime import GenerationRuntime
from neurall.privacy.export import build_export
from neurall.retention.sweeper import run_policies
from neurall.workers.events import EventQueue
from neurall.workers.mail import MailQueue
from neurall.workers.webhooks import WebhookQueue

log = logging.getLogger(__name__)

MAINTENANCE_QUEUE = "maintenance"
EXPORT_ACTOR = "build_data_export"
RETENTION_ACTOR = "run_retention"


@dataclass
class MaintenanceQueue:
    """What the API process sends to the maintenance actors."""

    export_actor: dramatiq.Actor
    retention_actor: dramatiq.Actor
    # The webhooks queue (declared beside): its overdue sweep runs on the same tick.
    webhooks: WebhookQueue | None = None
    # The events queue: the sweep of events left behind runs on the same tick.
    events: EventQueue | None = None

    async def build_export(self, export_id: uuid.UUID) -> None:
        # pika is blocking: publish off the loop (as the generation enqueuer does).
        await asyncio.to_thread(self.export_actor.send, str(export_id))

    def sweep(self) -> None:
        self.retention_actor.send()
        if self.webhooks is not None:
            self.webhooks.sweep()
        if self.events is not None:
            self.events.sweep()


def declare_maintenance_actors(
    broker: dramatiq.Broker, runtime: GenerationRuntime, settings: Settings, mail: MailQueue
) -> MaintenanceQueue:
    async def build_data_export(export_id: str) -> None:
        await build_export(uuid.UUID(export_id), runtime.storage, settings)

    async def run_retention() -> None:
        removed = await run_policies(settings, runtime.storage)
        log.info("retention sweep: %s", removed)
        await reap(runtime)
        # Mail whose send was lost (or ran out of retries) is queued again.
        relayed = await mail.relay()
        if relayed:
            log.info("mail relay queued %d messages again", relayed)

    options = {"max_retries": 0, "time_limit": 30 * 60 * 1000}
    return MaintenanceQueue(
        export_actor=dramatiq.Actor(
            build_data_export,
            broker=broker,
            actor_name=EXPORT_ACTOR,
            queue_name=MAINTENANCE_QUEUE,
            priority=10,
            options=options,
        ),
        retention_actor=dramatiq.Actor(
            run_retention,
            broker=broker,
            actor_name=RETENTION_ACTOR,
            queue_name=MAINTENANCE_QUEUE,
            priority=20,
            options=options,
        ),
    )


async def retention_ticker(queue: MaintenanceQueue, interval_s: float) -> None:
    """Embedded serve: send the sweep every ``interval_s`` until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(queue.sweep)
        except Exception:
            log.exception("could not queue the retention sweep")


def start_retention_thread(
    queue: MaintenanceQueue, interval_s: float, stop: threading.Event
) -> threading.Thread:
    """`neurall worker`: send the sweep every ``interval_s`` until ``stop`` is set."""

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                queue.sweep()
            except Exception:
                log.exception("could not queue the retention sweep")

    thread = threading.Thread(target=loop, name="retention-ticker", daemon=True)
    thread.start()
    return thread
