"""The training actor's body: train one clone, given only its id.

Idempotent, because messages are delivered at least once: a clone that already ended is
only tidied up (photos gone, credits settled or released), and a clone found TRAINING (its
worker died) starts over from its photos, up to ``NEURALL_CLONE_TRAINING_MAX_ATTEMPTS``
deliveries. Whatever happens once training was tried (success, failure, cancellation by
shutdown or the time limit), the photos are deleted in a ``finally`` and
``source_images_deleted`` turns true before the final event is published.

Training runs on a thread (``train_lora`` is CPU/GPU bound); the model parts are loaded
under ``MODEL_LOAD_LOCK`` inside it. Progress crosses back to the loop per step, where the
latest (step, loss) is written to the row and published for ``cloneEvents``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
import threading
import uuid
from pathlib import Path

from tortoise.transactions import in_transaction

from neurall import events
from neurall.billing import ledger
from neurall.clock import now
from neurall.clones.events import CloneEventData
from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore, upload_key, upload_prefix
from neurall.gpu.types import InferenceCanceled
from neurall.orm.clones import ACTIVE_CLONE_STATUSES, Clone, CloneStatus

log = logging.getLogger(__name__)

_Update = tuple[int, float] | None


class TrainingFailed(Exception):
    """Training cannot succeed; the message is shown to the clone's owner."""


async def run_training(clone_id: str, runtime: CloneRuntime) -> None:
    """Train the clone to READY or FAILED; its photos are deleted either way."""
    parsed = uuid.UUID(clone_id)
    clone = await Clone.get_or_none(id=parsed)
    if clone is None:
        # Deleted before training: deletion removed everything; make sure of the photos.
        await runtime.storage.delete_prefix(upload_prefix(parsed))
        return
    if clone.status not in ACTIVE_CLONE_STATUSES:
        await _tidy(clone, runtime)
        return
    error: str | None = None
    try:
        if clone.source_images_deleted and await runtime.store.exists(ModelStore.key_for(clone.id)):
            # A worker died after saving the adapter (saved only once training finished)
            # but before marking the clone READY: nothing left to train.
            return
        if clone.attempts >= runtime.settings.clone_training_max_attempts:
            raise TrainingFailed("The training could not be completed.")
        images = await _load_photos(clone, runtime)
        started = await _claim(clone.id)
        if started is None:
            return  # deleted meanwhile (the finally still removes the photos)
        await runtime.bus.publish(CloneEventData.of(started))
        await _train(started, images, runtime)
    except asyncio.CancelledError:
        # Shutdown or the time limit: the photos go, so this clone cannot resume.
        error = "Training was interrupted."
        raise
    except TrainingFailed as exc:
        error = str(exc)
    except InferenceCanceled:
        error = "Training was canceled."  # the clone was deleted (or ended) meanwhile
    except Exception:
        log.exception("training of clone %s failed", parsed)
        error = "Training failed."
    finally:
        await delete_photos(parsed, runtime)
        if error is None:
            await _succeed(parsed, runtime)
        else:
            await fail_clone(parsed, error, runtime)


async def _load_photos(clone: Clone, runtime: CloneRuntime) -> list[bytes]:
    images = []
    for index in range(clone.image_count):
        data = await runtime.storage.get(upload_key(clone.id, index))
        if data is None:
            raise TrainingFailed("The uploaded photos are no longer available.")
        images.append(data)
    return images


async def _claim(clone_id: uuid.UUID) -> Clone | None:
    async with in_transaction():
        clone = await Clone.filter(id=clone_id).select_for_update().get_or_none()
        if clone is None or clone.status not in ACTIVE_CLONE_STATUSES:
            return None
        clone.status = CloneStatus.TRAINING
        clone.attempts += 1
        clone.step = 0
        clone.loss = None
        clone.error = None
        clone.started_at = clone.started_at or now()
        await clone.save()
        return clone


async def _train(clone: Clone, images: list[bytes], runtime: CloneRuntime) -> None:
    from neurall.gpu.training import train_lora  # torch: only where training runs

    settings = runtime.settings
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    updates: asyncio.Queue[_Update] = asyncio.Queue()

    def on_step(step: int, _total: int, loss: float) -> None:  # training thread
        loop.call_soon_threadsafe(updates.put_nowait, (step, loss))

    # Trained into a private temporary file, stored once complete: the store never holds a
    # partial adapter, and a killed worker leaves nothing in it.
    scratch = tempfile.TemporaryDirectory(prefix="neurall-clone-")
    adapter = Path(scratch.name) / ModelStore.key_for(clone.id)
    base = runtime.catalog.get(clone.base_model)
    if base is None:
        raise ValueError(f"the clone's base model {clone.base_model!r} is not served here")
    call = functools.partial(
        train_lora,
        base,
        images,
        clone.trigger_word,
        clone.total_steps,
        adapter,
        seed=clone.id.int % 2**31,
        resolution=runtime.resolution(base),
        learning_rate=runtime.learning_rate(base),
        batch_size=min(settings.clone_training_batch_size, len(images)),
        cache_dir=settings.model_cache_dir,
        on_step=on_step,
        should_cancel=stop.is_set,
    )
    reporter = asyncio.create_task(_report(clone, updates, stop, runtime))
    future = loop.run_in_executor(None, call)
    try:
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            stop.set()
            # Wait for the thread to stop (at the next step), so it saves nothing afterwards.
            await asyncio.wait([future])
            raise
        finally:
            updates.put_nowait(None)
            await asyncio.wait([reporter])
            if not reporter.cancelled() and reporter.exception() is not None:
                log.error(
                    "progress of clone %s was not recorded", clone.id, exc_info=reporter.exception()
                )
        await runtime.store.save(ModelStore.key_for(clone.id), adapter)
    finally:
        await asyncio.to_thread(scratch.cleanup)
    log.info(
        "clone %s trained: %d steps, loss %.4f -> %.4f",
        clone.id,
        len(result.losses),
        result.losses[0],
        result.final_loss,
    )


async def _report(
    clone: Clone, updates: asyncio.Queue[_Update], stop: threading.Event, runtime: CloneRuntime
) -> None:
    """Publish every step's (step, loss) and write the latest to the row; stop training if
    the row is gone (the clone was deleted). When training runs ahead of the loop, one
    database write covers every step that piled up."""
    ended = False
    while not ended and (item := await updates.get()) is not None:
        pending = [item]
        while not updates.empty():
            following = updates.get_nowait()
            if following is None:
                ended = True
                break
            pending.append(following)
        step, loss = pending[-1]
        changed = await Clone.filter(id=clone.id, status=CloneStatus.TRAINING).update(
            step=step, loss=loss
        )
        if not changed:
            stop.set()
            return
        for step, loss in pending:
            clone.step, clone.loss = step, loss
            await runtime.bus.publish(CloneEventData.of(clone))


async def delete_photos(clone_id: uuid.UUID, runtime: CloneRuntime) -> None:
    """Remove the clone's photos from the temporary area and record that they are gone."""
    await runtime.storage.delete_prefix(upload_prefix(clone_id))
    await Clone.filter(id=clone_id).update(source_images_deleted=True)


async def _succeed(clone_id: uuid.UUID, runtime: CloneRuntime) -> None:
    key = ModelStore.key_for(clone_id)
    async with events.announcing(), in_transaction():
        clone = await Clone.filter(id=clone_id).select_for_update().get_or_none()
        if clone is not None and clone.status == CloneStatus.TRAINING:
            clone.status = CloneStatus.READY
            clone.step = clone.total_steps
            clone.adapter_key = key
            clone.cost_credits = clone.held_credits
            clone.finished_at = now()
            await clone.save()
            await ledger.settle(clone.ledger_reference, clone.held_credits)
            await _ended(clone, events.EventType.CLONE_READY)
        else:
            clone = None
    if clone is None:
        # Deleted while it trained: the weights have no owner.
        await runtime.store.delete(key)
        return
    await runtime.bus.publish(CloneEventData.of(clone))


async def fail_clone(clone_id: uuid.UUID, error: str, runtime: CloneRuntime) -> None:
    """End a clone for good: FAILED, nothing charged, its hold released, no weights kept."""
    async with events.announcing(), in_transaction():
        clone = await Clone.filter(id=clone_id).select_for_update().get_or_none()
        ended = clone is not None and clone.status not in ACTIVE_CLONE_STATUSES
        if clone is not None and not ended:
            clone.status = CloneStatus.FAILED
            clone.error = error[:500]
            clone.cost_credits = 0
            clone.finished_at = now()
            await clone.save()
            await ledger.release(clone.ledger_reference)
            await _ended(clone, events.EventType.CLONE_FAILED)
    if ended:
        return  # someone else ended it first; a READY clone keeps its weights
    # A save that raced the failure (or a deleted clone's) leaves no orphan weights.
    await runtime.store.delete(ModelStore.key_for(clone_id))
    if clone is not None:
        await runtime.bus.publish(CloneEventData.of(clone))


async def _ended(clone: Clone, event_type: events.EventType) -> None:
    """The outcome (and so that the photos are gone either way), for its subscribers."""
    await events.record(
        event_type,
        subject_id=clone.id,
        account_id=clone.account_id,  # type: ignore[attr-defined]
    )


async def _tidy(clone: Clone, runtime: CloneRuntime) -> None:
    """An ended clone met again (a redelivered message): finish what a crash interrupted."""
    await delete_photos(clone.id, runtime)
    charge = clone.held_credits if clone.status == CloneStatus.READY else 0
    await ledger.end_hold(clone.ledger_reference, charge)
