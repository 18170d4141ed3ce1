"""The queue's life inside `neurall serve` (an aiohttp cleanup_ctx).

Always: the generation runtime (event bus, payload store, storage, lazy inference) and a
broker to enqueue on. Embedded (no NEURALL_BROKER_URL): also Dramatiq worker threads
consuming the StubBroker, running the async actors on this server's loop. Distributed: the
API only enqueues; `neurall worker` processes consume.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import dramatiq
from aiohttp import web
from dramatiq.asyncio import set_event_loop_thread

from neurall.clones.runtime import CloneRuntime
from neurall.config import Settings
from neurall.events.interest import set_interest
from neurall.events.outbox import set_waker
from neurall.generation.reaper import reap_forever, resend_unfinished
from neurall.generation.runtime import GenerationRuntime
from neurall.mail.dispatch import NoDispatch
from neurall.orm.clones import ACTIVE_CLONE_STATUSES, Clone
from neurall.services import Services
from neurall.webhooks.dispatch import set_dispatcher
from neurall.workers.actors import declare_actors
from neurall.workers.broker import build_broker
from neurall.workers.events import EVENTS_QUEUE
from neurall.workers.maintenance import retention_ticker
from neurall.workers.server_loop import ServerLoop
from neurall.workers.webhooks import WEBHOOKS_QUEUE

log = logging.getLogger(__name__)


def generation_context(
    settings: Settings, services: Services
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        runtime = GenerationRuntime.from_settings(
            settings, services.storage, services.models, services.catalog
        )
        await runtime.start()
        clones = CloneRuntime.from_settings(
            settings, services.storage, services.models, services.catalog
        )
        await clones.start()
        broker = build_broker(settings)
        services.maintenance, services.mail = declare_actors(
            broker, runtime, clones, settings, services.webhook_resolver
        )
        services.generation = runtime
        services.clones = clones
        worker: dramatiq.Worker | None = None
        webhook_worker: dramatiq.Worker | None = None
        server_loop: ServerLoop | None = None
        ticker: asyncio.Task[None] | None = None
        reaper: asyncio.Task[None] | None = None
        try:
            if settings.is_embedded_broker:
                server_loop = ServerLoop(asyncio.get_running_loop())
                set_event_loop_thread(server_loop)  # type: ignore[arg-type]
                queues = set(broker.get_declared_queues())
                reactions = {WEBHOOKS_QUEUE, EVENTS_QUEUE}
                worker = dramatiq.Worker(
                    broker,
                    worker_threads=settings.embedded_worker_threads,
                    worker_timeout=100,
                    queues=queues - reactions,
                )
                worker.start()
                # Threads of their own for the reactions (the event relay and webhook
                # deliveries): a slow receiver, or a burst of events, never holds a
                # generation worker, nor a running job its relay. They poll for messages
                # once a second by default, not ten times: each wake-up takes the GIL from
                # the loop running the jobs, and on a loaded machine ten a second for idle
                # threads cost a quarter of the generation throughput.
                webhook_worker = dramatiq.Worker(
                    broker,
                    worker_threads=settings.webhook_worker_threads,
                    worker_timeout=settings.webhook_poll_ms,
                    queues=reactions,
                )
                webhook_worker.start()
                await _requeue_unfinished(runtime)
                await _requeue_unfinished_clones(clones)
                # Distributed, `neurall worker` processes tick and reap instead.
                ticker = asyncio.create_task(
                    retention_ticker(services.maintenance, settings.retention_interval_s)
                )
                reaper = asyncio.create_task(reap_forever(runtime, settings.reaper_interval_s))
            yield
        finally:
            for task in (ticker, reaper):
                if task is not None:
                    task.cancel()
            services.generation = None
            services.maintenance = None
            services.mail = NoDispatch()
            services.clones = None
            if worker is not None and server_loop is not None:
                # Jobs in flight stop here; the next start queues them again.
                server_loop.cancel_all()
                # Both at once: each waits for its idle threads' next wake-up.
                stopping = [w for w in (worker, webhook_worker) if w is not None]
                await asyncio.gather(*(asyncio.to_thread(w.stop, 5000) for w in stopping))
                set_event_loop_thread(None)
            set_dispatcher(None)
            set_waker(None)
            set_interest(None)
            await asyncio.to_thread(broker.close)
            await runtime.close()
            await clones.close()

    return ctx


async def _requeue_unfinished(runtime: GenerationRuntime) -> None:
    """The StubBroker lives in memory: jobs a previous run left queued or running are queued
    again (API jobs whose request died with that process then fail, refunded)."""
    try:
        await resend_unfinished(runtime)
    except Exception:
        # The database may be down at start; the server still starts (and /readyz says 503).
        log.warning("could not look for unfinished jobs", exc_info=True)


async def _requeue_unfinished_clones(clones: CloneRuntime) -> None:
    """Clones a previous run left queued or training (killed hard: no cleanup ran) are
    queued again; training starts over from their photos, or fails if they are gone."""
    try:
        unfinished = await Clone.filter(status__in=list(ACTIVE_CLONE_STATUSES)).only("id")
    except Exception:
        log.warning("could not look for unfinished clones", exc_info=True)
        return
    for clone in unfinished:
        await clones.enqueue(clone.id)
