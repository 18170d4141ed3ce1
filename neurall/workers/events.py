"""The events queue: the relay actor and its sweep.

``relay_events(event_id)`` hands the waiting events of that event's subject to every
subscriber (neurall.events.relay, neurall.subscribers.registry). Embedded, the
in-process queue's worker threads consume it; distributed, any `neurall worker`. A worker
killed mid-relay gets the message back from RabbitMQ; the event's claim makes the next
attempt wait for it to lapse (or the sweep, run with every maintenance tick, finds it),
and subscribers that already handled the event are skipped.

Dramatiq never retries the relay: a failed relay leaves its event waiting, and the sweep
tries again on the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import dramatiq

from neurall import clock
from neurall.config import Settings
from neurall.events import interest, outbox, relay
from neurall.mail.dispatch import MailDispatch
from neurall.subscribers import registry
from neurall.subscribers.context import SubscriberContext
from neurall.workers.observe import message_options

log = logging.getLogger(__name__)

EVENTS_QUEUE = "events"
RELAY_ACTOR = "relay_events"
SWEEP_ACTOR = "sweep_events"
# An event this old and unclaimed lost its wake-up (or its relay died): relay it again.
# Longer than the delayed wake-up of events recorded outside an ``announcing`` block.
RELAY_AFTER = timedelta(seconds=30)
TIME_LIMIT_MS = 120_000
# Dramatiq's message delay is an int of milliseconds.
MAX_DELAY_MS = 3600 * 1000


@dataclass
class EventQueue:
    relay_actor: dramatiq.Actor
    sweep_actor: dramatiq.Actor

    def send(self, event_ids: Sequence[uuid.UUID], delay_ms: int = 0) -> None:
        """Blocking (pika): call from a thread, or through ``wake``."""
        delay = min(max(0, delay_ms), MAX_DELAY_MS) or None
        for event_id in event_ids:
            self.relay_actor.send_with_options(
                args=(str(event_id),), delay=delay, **message_options()
            )

    async def wake(self, event_ids: Sequence[uuid.UUID], delay_ms: int = 0) -> None:
        await asyncio.to_thread(self.send, list(event_ids), delay_ms)

    def sweep(self) -> None:
        self.sweep_actor.send()


def declare_event_actors(
    broker: dramatiq.Broker, settings: Settings, mail: MailDispatch
) -> EventQueue:
    """Declare both actors, and make this process's recorded events wake the relay."""
    subscribers = registry.build(SubscriberContext(settings=settings, mail=mail))

    async def relay_events(event_id: str) -> None:
        await relay.relay(uuid.UUID(event_id), subscribers)

    async def sweep_events() -> None:
        found = await relay.left_behind(clock.now() - RELAY_AFTER)
        if found:
            log.info("relaying %d events left behind", len(found))
            await queue.wake(found)

    options = {"max_retries": 0, "time_limit": TIME_LIMIT_MS, "retry_when": lambda *_: False}
    queue = EventQueue(
        relay_actor=dramatiq.Actor(
            relay_events,
            broker=broker,
            actor_name=RELAY_ACTOR,
            queue_name=EVENTS_QUEUE,
            priority=0,
            options=options,
        ),
        sweep_actor=dramatiq.Actor(
            sweep_events,
            broker=broker,
            actor_name=SWEEP_ACTOR,
            queue_name=EVENTS_QUEUE,
            priority=10,
            options=options,
        ),
    )
    outbox.set_waker(queue.wake)
    interest.set_interest(registry.interest(subscribers))
    return queue
