"""The webhooks queue: the delivery actor and the overdue sweep.

Its own queue, consumed by its own worker threads (embedded: NEURALL_WEBHOOK_WORKER_THREADS
beside the generation workers; distributed: any `neurall worker`, best one started with
``--queues webhooks``), so a receiver that takes the whole 15 s timeout holds a webhook
thread, never a generation one.

Messages carry a delivery id only; the delivery row says what to send and when (see
neurall.webhooks.delivery). Dramatiq never retries these actors: the body schedules its own
retries by sending itself again with a delay, following the Standard Webhooks schedule.
A worker killed mid-attempt gets the message back from RabbitMQ, and the row's lease makes
the next wake-up wait for it to lapse, then send again with the same webhook-id.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import dramatiq

from neurall import clock
from neurall.config import Settings
from neurall.secrets_at_rest import Keyring
from neurall.webhooks import dispatch
from neurall.webhooks.delivery import LEASE_MARGIN_S, DeliverySettings, attempt, overdue
from neurall.webhooks.http import ResolverFactory, WebhookHTTP
from neurall.workers.observe import message_options

log = logging.getLogger(__name__)

WEBHOOKS_QUEUE = "webhooks"
DELIVER_ACTOR = "deliver_webhook"
SWEEP_ACTOR = "sweep_webhooks"
# Deliveries are short; the limit only guards against a hung event loop.
TIME_LIMIT_MS = 120_000
# Dramatiq's message delay is an int of milliseconds; a day fits comfortably.
MAX_DELAY_MS = 25 * 3600 * 1000


@dataclass
class WebhookQueue:
    deliver_actor: dramatiq.Actor
    sweep_actor: dramatiq.Actor

    def send(self, delivery_ids: Sequence[uuid.UUID | str], delay_ms: int = 0) -> None:
        """Blocking (pika): call from a thread, or through ``enqueue``."""
        delay = min(max(0, delay_ms), MAX_DELAY_MS) or None
        for delivery_id in delivery_ids:
            self.deliver_actor.send_with_options(
                args=(str(delivery_id),), delay=delay, **message_options()
            )

    async def enqueue(self, delivery_ids: Sequence[uuid.UUID], delay_ms: int = 0) -> None:
        await asyncio.to_thread(self.send, list(delivery_ids), delay_ms)

    def sweep(self) -> None:
        self.sweep_actor.send()


def declare_webhook_actors(
    broker: dramatiq.Broker, settings: Settings, resolver: ResolverFactory | None = None
) -> WebhookQueue:
    """Declare both actors and make this process's recorded events wake them."""
    http = WebhookHTTP(
        timeout_s=settings.webhook_timeout_s,
        allow_insecure=settings.webhooks_allow_insecure_urls,
        resolver_factory=resolver,
    )
    config = DeliverySettings(
        public_url=settings.public_url,
        timeout_s=settings.webhook_timeout_s,
        disable_after_failing_s=settings.webhook_disable_after_failing_s,
        keyring=Keyring.from_settings(settings),
    )

    async def deliver_webhook(delivery_id: str) -> None:
        wait_s = await attempt(uuid.UUID(delivery_id), http, config)
        if wait_s is not None:
            await queue.enqueue([uuid.UUID(delivery_id)], int(wait_s * 1000))

    async def sweep_webhooks() -> None:
        grace = settings.webhook_timeout_s + LEASE_MARGIN_S + 60
        found = await overdue(clock.now(), grace)
        if found:
            log.info("waking %d overdue webhook deliveries", len(found))
            await queue.enqueue(found)

    options = {"max_retries": 0, "time_limit": TIME_LIMIT_MS, "retry_when": lambda *_: False}
    queue = WebhookQueue(
        deliver_actor=dramatiq.Actor(
            deliver_webhook,
            broker=broker,
            actor_name=DELIVER_ACTOR,
            queue_name=WEBHOOKS_QUEUE,
            priority=0,
            options=options,
        ),
        sweep_actor=dramatiq.Actor(
            sweep_webhooks,
            broker=broker,
            actor_name=SWEEP_ACTOR,
            queue_name=WEBHOOKS_QUEUE,
            priority=10,
            options=options,
        ),
    )
    dispatch.set_dispatcher(queue.enqueue)
    return queue
