"""One worker thread that owns the pipelines and runs compatible pending jobs together.

Both backends use it: the embedded one in the API/worker process, and the Triton server behind
its model. While a batch runs, new jobs wait; when the pipeline is free the worker takes the
oldest waiting job and every other waiting job with the same ``compatible_key`` (up to
``max_batch_size``) and runs them in one call. The key starts with the model, so a batch
never mixes models; the pipelines are a ModelPool, which loads a model on this thread when
its first batch comes (neurall.gpu.pool). This keeps batching effective under load even
though a decoupled Triton model hands requests over as soon as they arrive (Triton's own
dynamic batcher only groups requests that arrive within its queue delay).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path

from neurall.gpu import metrics
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.pool import ModelPool
from neurall.gpu.types import (
    GenerationRequest,
    GenerationResult,
    InferenceCanceled,
    InferenceError,
    InferenceUnavailable,
    StepProgress,
)

logger = logging.getLogger(__name__)

StepSink = Callable[[StepProgress], None]
DoneSink = Callable[[GenerationResult | BaseException], None]
FlushSink = Callable[[], None]


class Job:
    """A submitted request; its sinks are called on the worker thread.

    ``on_flush`` (optional) is called once per round, after every job of the batch got its
    step or outcome; jobs sharing one flush callable get a single call. It lets a consumer
    that serves several jobs at once (the Triton model) send one round as one response.
    """

    def __init__(
        self,
        request: GenerationRequest,
        on_step: StepSink,
        on_done: DoneSink,
        on_flush: FlushSink | None = None,
    ) -> None:
        self.request = request
        self._on_step = on_step
        self._on_done = on_done
        self.on_flush = on_flush
        self.submitted_at = time.monotonic()
        self._canceled = threading.Event()
        self._finished = False

    def cancel(self) -> None:
        """Stop caring about this job; its batch stops between steps once all its jobs did."""
        self._canceled.set()

    @property
    def canceled(self) -> bool:
        return self._canceled.is_set()

    def step(self, progress: StepProgress) -> None:
        if not self.canceled:
            self._on_step(progress)

    def finish(self, outcome: GenerationResult | BaseException) -> None:
        if not self._finished:
            self._finished = True
            self._on_done(outcome)


class BatchRunner:
    """Loads the pipelines on its own thread, then serves submitted jobs in batches.

    ``load`` returns the ModelPool (having loaded what must be loaded at start) or, for one
    model, its Pipeline."""

    def __init__(
        self,
        load: Callable[[], ModelPool | Pipeline],
        *,
        max_batch_size: int = 8,
        batch_window_s: float = 0.0,
        stats_path: Path | None = None,
        name: str = "neurall-pipeline",
    ) -> None:
        self._load = load
        self._max_batch_size = max(1, max_batch_size)
        self._batch_window_s = batch_window_s
        self._stats_path = stats_path
        self._cond = threading.Condition()
        self._pending: list[Job] = []
        self._closed = False
        self._running: list[Job] = []
        self.loaded: concurrent.futures.Future[ModelPool] = concurrent.futures.Future()
        # Sizes (in requests) of every pipeline call, in order: the batching counter.
        self.batch_sizes: list[int] = []
        # The models of each call's requests (one, as a batch never mixes models): the log
        # that shows it.
        self.batch_models: list[list[str]] = []
        self.canceled_calls = 0
        # Seconds spent inside pipeline calls: against wall time, how busy the GPU was kept.
        self.busy_s = 0.0
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> concurrent.futures.Future[ModelPool]:
        """Start the worker; the returned future resolves to the pool once it is loaded."""
        self._thread.start()
        return self.loaded

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self.loaded.done() and not self.loaded.exception()

    def submit(
        self,
        request: GenerationRequest,
        on_step: StepSink,
        on_done: DoneSink,
        on_flush: FlushSink | None = None,
    ) -> Job:
        job = Job(request, on_step, on_done, on_flush)
        with self._cond:
            if self._closed:
                raise InferenceUnavailable("the inference backend is closed")
            self._pending.append(job)
            metrics.REQUESTS_WAITING.inc()
            self._cond.notify()
        return job

    def close(self, timeout_s: float = 30.0) -> None:
        """Fail waiting jobs, cancel the running batch, and stop the worker."""
        with self._cond:
            self._closed = True
            pending, self._pending = self._pending, []
            metrics.REQUESTS_WAITING.dec(len(pending))
            for job in self._running:
                job.cancel()
            self._cond.notify_all()
        for job in pending:
            job.finish(InferenceUnavailable("the inference backend is shutting down"))
        _flush(pending)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _main(self) -> None:
        try:
            loaded = self._load()
            if isinstance(loaded, Pipeline):
                loaded = ModelPool([loaded.spec], lambda _spec: loaded, pipelines=[loaded])
        except BaseException as exc:
            logger.exception("loading the pipeline failed")
            self.loaded.set_exception(exc)
            return
        self.loaded.set_result(loaded)
        metrics.PIPELINE_LOADED.set(1)
        while (batch := self._next_batch()) is not None:
            self._run(loaded, batch)

    def _next_batch(self) -> list[Job] | None:
        dropped: list[Job] = []
        with self._cond:
            batch: list[Job] = []
            while not self._closed:
                dropped += [job for job in self._pending if job.canceled]
                self._pending = [job for job in self._pending if not job.canceled]
                if not self._pending:
                    self._cond.wait()
                    continue
                batch, left = self._ready_batch()
                if batch:
                    break
                self._cond.wait(left)
            else:
                batch = []  # closed: close() fails whatever is still pending
            self._pending = [job for job in self._pending if job not in batch]
            metrics.REQUESTS_WAITING.dec(len(dropped) + len(batch))
            self._running = batch
        for job in dropped:
            job.finish(InferenceCanceled())
        _flush(dropped)
        return batch or None

    def _ready_batch(self) -> tuple[list[Job], float]:
        """The batch to run now, oldest group first, or none and how long until one is due.

        Pending jobs are grouped by ``compatible_key``; each group is a candidate batch of
        its oldest ``max_batch_size`` jobs. The batching window: a partial batch waits while
        companions keep coming, until batch_window_s has passed since the newest of them. A
        burst of requests arriving one API round trip apart gathers however long it lasts,
        where a window counted from the oldest job (Triton's max_queue_delay) would have to
        be long enough for the whole burst, and a lone job would pay all of it. The wait is
        bounded: each companion adds at most one window, and a full batch starts at once.
        Groups never wait for each other: one still gathering companions does not hold up a
        younger one whose window has passed (called with the lock held).
        """
        groups: dict[Hashable, list[Job]] = {}
        for job in self._pending:
            groups.setdefault(Pipeline.compatible_key(job.request), []).append(job)
        now = time.monotonic()
        wait = float("inf")
        for jobs in groups.values():
            batch = jobs[: self._max_batch_size]
            left = max(job.submitted_at for job in batch) + self._batch_window_s - now
            if len(batch) == self._max_batch_size or left <= 0:
                return batch, 0.0
            wait = min(wait, left)
        return [], wait

    def _run(self, pool: ModelPool, batch: list[Job]) -> None:
        total = batch[0].request.steps

        def on_step(step: int, previews: list[bytes | None]) -> None:
            for job, preview in zip(batch, previews, strict=True):
                job.step(StepProgress(step=step, total_steps=total, preview_png=preview))
            _flush(batch)

        def should_cancel() -> bool:
            return all(job.canceled for job in batch)

        began = time.monotonic()
        try:
            pipeline = pool.get(batch[0].request.model)
            results = pipeline.run([job.request for job in batch], on_step, should_cancel)
        except InferenceCanceled:
            self.canceled_calls += 1
            metrics.PIPELINE_CALLS.labels("canceled").inc()
            # Jobs stopped by close() did not ask to stop: to them it is an outage, retried.
            stopped: BaseException = (
                InferenceUnavailable("the inference backend is shutting down")
                if self._closed
                else InferenceCanceled()
            )
            outcomes: list[GenerationResult | BaseException] = [stopped] * len(batch)
        except InferenceError as exc:
            metrics.PIPELINE_CALLS.labels("error").inc()
            outcomes = [exc] * len(batch)
        except Exception as exc:
            metrics.PIPELINE_CALLS.labels("error").inc()
            # Exception texts from torch describe shapes and devices, never prompts.
            logger.exception("pipeline call failed")
            error_type = InferenceUnavailable if _is_out_of_memory(exc) else InferenceError
            outcomes = [error_type(f"pipeline failed: {type(exc).__name__}: {exc}")] * len(batch)
        else:
            outcomes = list(results)
            self.batch_sizes.append(len(batch))
            self.batch_models.append(sorted({job.request.model for job in batch}))
            metrics.PIPELINE_CALLS.labels("ok").inc()
            metrics.BATCH_SIZE.observe(len(batch))
        busy = time.monotonic() - began
        self.busy_s += busy
        metrics.BUSY_SECONDS.inc(busy)
        self._write_stats()
        with self._cond:
            self._running = []
        for job, outcome in zip(batch, outcomes, strict=True):
            job.finish(outcome)
        _flush(batch)

    def stats(self) -> dict[str, object]:
        return {
            "pipeline_calls": len(self.batch_sizes),
            "requests": sum(self.batch_sizes),
            "batch_sizes": list(self.batch_sizes[-1000:]),
            "batch_models": list(self.batch_models[-1000:]),
            "canceled_calls": self.canceled_calls,
            "busy_s": self.busy_s,
        }

    def _write_stats(self) -> None:
        if self._stats_path is None:
            return
        # Written to a temporary file and renamed, so a reader never sees half a file.
        directory = self._stats_path.parent
        fd, tmp = tempfile.mkstemp(prefix=".stats-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.stats(), handle)
            os.replace(tmp, self._stats_path)
        except OSError:
            logger.warning("could not write pipeline stats to %s", self._stats_path)
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _flush(jobs: list[Job]) -> None:
    seen: list[FlushSink] = []
    for job in jobs:
        if job.on_flush is not None and not any(job.on_flush is f for f in seen):
            seen.append(job.on_flush)
            job.on_flush()


def _is_out_of_memory(exc: BaseException) -> bool:
    # A batch that does not fit may fit later, alone or beside smaller ones: worth a retry.
    import torch

    return isinstance(exc, torch.OutOfMemoryError)
