"""`neurall worker`: Dramatiq workers on RabbitMQ running the actors.

Tortoise, the event bus, the payload store and the inference client are opened on the
AsyncIO middleware's event-loop thread (Tortoise connections belong to the loop that opened
them) by ``WorkerResources`` while the worker boots (before it consumes), and closed once
its threads have finished the messages they were running.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
import threading
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread, set_event_loop_thread
from dramatiq.middleware import Middleware
from prometheus_client import start_http_server
from tortoise.context import TortoiseContext

from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore
from neurall.config import Settings
from neurall.generation.reaper import reap_forever
from neurall.generation.runtime import GenerationRuntime
from neurall.heap import freeze_long_lived_objects
from neurall.orm import database
from neurall.storage import make_storage
from neurall.workers.actors import declare_actors
from neurall.workers.broker import build_broker
from neurall.workers.maintenance import start_retention_thread
from neurall.workers.server_loop import ServerLoop

log = logging.getLogger(__name__)


class WorkerResources(Middleware):
    """Opens and closes the worker's resources on the event-loop thread."""

    def __init__(
        self, settings: Settings, runtime: GenerationRuntime, clones: CloneRuntime | None = None
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.clones = clones
        self._loop: asyncio.AbstractEventLoop | None = None
        self._database: TortoiseContext | None = None
        self._reaper: asyncio.Task[None] | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Before the worker threads start consuming (after_worker_boot is too late); the
        # AsyncIO middleware, added first, has started its loop thread by now.
        loop_thread = get_event_loop_thread()
        assert loop_thread is not None, "the AsyncIO middleware must come first"

        async def open_all() -> contextvars.Context:
            self._database = await database.open_database(self.settings.database_url)
            await self.runtime.start()
            if self.clones is not None:
                await self.clones.start()
            # On this loop, not through the broker: it must work while RabbitMQ is down.
            self._reaper = asyncio.create_task(
                reap_forever(self.runtime, self.settings.reaper_interval_s)
            )
            return contextvars.copy_context()

        context = loop_thread.run_coroutine(open_all())
        self._loop = loop_thread.loop
        # Actors run on the same loop, in the context where Tortoise was initialised.
        set_event_loop_thread(ServerLoop(loop_thread.loop, context))  # type: ignore[arg-type]
        self._loop_thread = loop_thread
        freeze_long_lived_objects()  # see neurall/heap.py
        log.info("worker ready")

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # After, not before: Dramatiq emits before_worker_shutdown first and then waits for
        # each worker thread to finish its message, so closing there pulled the database
        # from under running jobs. (Hooks run in reverse order here: this one before the
        # AsyncIO middleware stops the loop.)
        if self._loop is None:
            return

        async def close_all() -> None:
            if self._reaper is not None:
                self._reaper.cancel()
            await self.runtime.close()
            if self.clones is not None:
                await self.clones.close()
            await self.runtime.storage.close()
            if self._database is not None:
                await database.close_database(self._database)

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(timeout=30)
        # Give the AsyncIO middleware back its own thread so it can stop it.
        set_event_loop_thread(self._loop_thread)


def run_worker(
    settings: Settings, threads: int | None = None, queues: set[str] | None = None
) -> None:
    """Consume the queues (every declared one, or ``queues``) until SIGINT or SIGTERM."""
    if settings.is_embedded_broker:
        raise SystemExit("neurall worker needs NEURALL_BROKER_URL (amqp://...)")
    # pika logs every connection step at INFO.
    logging.getLogger("pika").setLevel(logging.WARNING)
    storage = make_storage(settings)
    models = ModelStore(storage)
    runtime = GenerationRuntime.from_settings(settings, storage, models)
    broker = build_broker(settings, worker=True)
    # One reading of the catalog file for both runtimes.
    clones = CloneRuntime.from_settings(settings, storage, models, runtime.catalog)
    broker.add_middleware(WorkerResources(settings, runtime, clones))
    maintenance, _mail = declare_actors(broker, runtime, clones, settings)
    stop = threading.Event()

    def on_signal(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Dramatiq's own CLI emits process_boot; without it the TimeLimit middleware never
    # starts its timer thread and NEURALL_GENERATION_TIME_LIMIT_S is not enforced.
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(
        broker,
        worker_threads=threads or settings.worker_threads,
        worker_timeout=1000,
        # E.g. only "training" on machines with the GPU memory for it (None: every queue).
        queues=queues,
    )
    if settings.metrics_port is not None:
        # Its own small HTTP server (prometheus_client's), as the worker serves nothing else.
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info("metrics on %s:%d", settings.metrics_host, settings.metrics_port)
    worker.start()
    start_retention_thread(maintenance, settings.retention_interval_s, stop)
    try:
        stop.wait()
    finally:
        log.info("stopping worker")
        worker.stop()
        broker.close()
