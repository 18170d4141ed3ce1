"""The per-step path of a running job: an event for every step, the database now and then.

A denoising step used to be one guarded database transaction (lock the row, bump ``seq``,
save) plus one event. With the tiny model a step takes a few milliseconds, so the
transactions were most of the worker's event-loop time in the benchmark's profile. Now:

- Every step still becomes a PROGRESS event (and a PREVIEW event when the pipeline sent a
  preview), published at once and in order. Their ``seq`` is computed, not read: step ``s``
  of a run whose STARTED event had seq ``base`` is ``base + 2s - 1`` (PROGRESS) and
  ``base + 2s`` (PREVIEW); see ``lifecycle.SEQ_SLOTS_PER_STEP``.
- The row (``step``, ``seq``, ``eta_seconds``) is written at most every
  ``NEURALL_PROGRESS_WRITE_INTERVAL_MS``, by one guarded UPDATE (``status = RUNNING`` and
  ``seq`` below the new one). That write is also the cancellation check: when it matches no
  row the job was canceled (or another worker took it over), and the worker stops the
  pipeline between steps. Cancellation is therefore noticed within one write interval.
- ``JOB_PROGRESS`` domain events (on demand: only when a subscriber wants them, e.g. an
  endpoint subscribed to ``job.progress`` webhooks) are recorded at most once per second
  per job, by a background task so the step never waits for the database: a run shorter
  than a second never even asks.
- Terminal changes stay exactly-once guarded transitions (``lifecycle.transition``), which
  number themselves past every seq a run can send, so a CANCELED or SUCCEEDED event is never
  mistaken for an old one by a subscriber.

``eta_seconds`` is the remaining steps times the time per step. That time is measured from
the first step on (a model that had to load first spends its load before step 1), and until
a second step has come, it is what the last run of the same model in this process measured
(``step_seconds``, kept per model and image size: a step's time depends on both). Before
step 1 (the STARTED event) the ETA is that estimate for every step, plus the model's last
load time when it is not loaded (``expected_start_eta``).

Previews are sent as ``data:`` URLs: a few hundred bytes to a few KB (at most 64 pixels a
side), transient like every event, and never stored.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import struct
import time
import uuid

from neurall import events
from neurall.bus.events import EventType, ImageRef, JobEventBus, JobEventData
from neurall.events import interest
from neurall.generation.lifecycle import SEQ_SLOTS_PER_STEP
from neurall.gpu.types import GenerationRequest
from neurall.orm.jobs import Job, JobStatus

log = logging.getLogger(__name__)

# A step's time depends on the model and on what each step computes: (model id, width,
# height, images per call).
Shape = tuple[str, int, int, int]

# Seconds per denoising step of each shape, as last measured by a run in this process.
_STEP_SECONDS: dict[Shape, float] = {}


def shape_of(model_id: str, request: GenerationRequest) -> Shape:
    return (model_id, request.width, request.height, request.num_images)


def step_seconds(shape: Shape) -> float | None:
    """The last measured seconds per step of ``shape`` here (None: never run here)."""
    return _STEP_SECONDS.get(shape)


def expected_start_eta(shape: Shape, total_steps: int, load_seconds: float | None) -> float | None:
    """A job's ETA before its first step: every step at the shape's last measured pace,
    after the model's load (``load_seconds``: None when it is loaded). None when nothing is
    known."""
    per_step = step_seconds(shape)
    if per_step is None and load_seconds is None:
        return None
    return (load_seconds or 0.0) + (per_step or 0.0) * total_steps


# JOB_PROGRESS events: at most one per this many seconds per job.
PROGRESS_WEBHOOK_INTERVAL_S = 1.0
_HOOK_TASKS: set[asyncio.Task[None]] = set()


def preview_ref(job_id: uuid.UUID, step: int, png: bytes, seed: int) -> ImageRef:
    """A preview PNG as an image whose URL carries the bytes."""
    width, height = png_size(png)
    return ImageRef(
        id=f"{job_id}/preview/{step}",
        width=width,
        height=height,
        seed=seed,
        url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
    )


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, without decoding the image."""
    if len(png) < 24 or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return 0, 0
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


class ProgressReporter:
    """Publishes one running job's per-step events and writes its row now and then."""

    def __init__(
        self,
        job: Job,
        bus: JobEventBus,
        *,
        write_interval_s: float,
        seed: int,
        shape: Shape | None = None,
    ) -> None:
        """``shape``: the run's, to learn and use its pace (see ``expected_start_eta``)."""
        self._job_id = job.id
        self._shape = shape
        self._account_id: uuid.UUID = job.account_id  # type: ignore[attr-defined]
        self._base = job.seq  # the STARTED event's seq; the row has step 0 now
        self._total = job.total_steps
        self._bus = bus
        self._interval = write_interval_s
        self._seed = seed
        self._began = time.monotonic()
        self._first_step_at: float | None = None
        self._first_step = 0
        self._written_at = self._began
        self._pending: tuple[int, float] | None = None
        # JOB_PROGRESS events: None until first asked (after a second of running).
        self._hooked: bool | None = None
        self._hooked_at = self._began
        self._hook_task: asyncio.Task[None] | None = None

    def _event(self, type_: EventType, step: int, eta: float, **extra: object) -> JobEventData:
        slot = 0 if type_ == EventType.PREVIEW else 1
        return JobEventData(
            seq=self._base + SEQ_SLOTS_PER_STEP * step - slot,
            job_id=self._job_id,
            type=type_,
            status=JobStatus.RUNNING.value,
            step=step,
            total_steps=self._total,
            progress=step / self._total if self._total else 0.0,
            eta_seconds=eta,
            **extra,  # type: ignore[arg-type]
        )

    async def step(self, step: int, preview_png: bytes | None = None) -> bool:
        """Announce step ``step``; False when the job is no longer this run's to finish."""
        now = time.monotonic()
        eta = self._per_step(step, now) * (self._total - step)
        await self._bus.publish(self._event(EventType.PROGRESS, step, eta))
        if preview_png:
            preview = preview_ref(self._job_id, step, preview_png, self._seed)
            await self._bus.publish(self._event(EventType.PREVIEW, step, eta, preview=preview))
        self._pending = (step, eta)
        if self._hooked is not False and now - self._hooked_at >= PROGRESS_WEBHOOK_INTERVAL_S:
            self._hooked_at = now
            if self._hook_task is None or self._hook_task.done():
                self._hook_task = asyncio.get_running_loop().create_task(self._webhook(step))
                # Held until done: the loop keeps only weak references to tasks.
                _HOOK_TASKS.add(self._hook_task)
                self._hook_task.add_done_callback(_HOOK_TASKS.discard)
        if now - self._written_at >= self._interval:
            return await self.write()
        return True

    def _per_step(self, step: int, now: float) -> float:
        """Seconds per step so far: measured between steps once there are two (the time
        before step 1 may hold a model load), until then the model's last pace here."""
        if self._first_step_at is None:
            self._first_step_at, self._first_step = now, step
        if step > self._first_step:
            pace = (now - self._first_step_at) / (step - self._first_step)
            if self._shape is not None:
                _STEP_SECONDS[self._shape] = pace
            return pace
        known = None if self._shape is None else step_seconds(self._shape)
        return known if known is not None else (now - self._began) / max(1, step)

    async def _webhook(self, step: int) -> None:
        """Record (and wake the relay for) one JOB_PROGRESS event, if anyone wants it."""
        try:
            if self._hooked is None:
                self._hooked = await interest.wanted(
                    self._account_id, events.EventType.JOB_PROGRESS
                )
            if self._hooked:
                async with events.announcing():
                    await events.record(
                        events.EventType.JOB_PROGRESS,
                        subject_id=self._job_id,
                        account_id=self._account_id,
                        payload={"step": step},
                    )
        except Exception:
            log.warning("could not record a job progress event", exc_info=True)

    async def write(self) -> bool:
        """Write the latest step to the row; False when the job stopped running here."""
        if self._pending is None:
            return True
        step, eta = self._pending
        self._pending = None
        self._written_at = time.monotonic()
        seq = self._base + SEQ_SLOTS_PER_STEP * step
        updated = await Job.filter(id=self._job_id, status=JobStatus.RUNNING, seq__lt=seq).update(
            step=step, seq=seq, eta_seconds=eta
        )
        return bool(updated)
