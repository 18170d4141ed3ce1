"""Creating, reading and deleting clones: what GraphQL, the generation path and account
erasure call. No web framework here.

Creation validates everything before anything is written: the fields, then the photos
(``prepare_training_images``, CPU-bound, in an executor). The prepared photos go to
temporary storage before the row exists, so a worker never sees a clone without its photos;
the row and its credit hold are written in one transaction; then the training message is
queued. Any failure after the photos were stored deletes them again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
import string
import uuid
from collections.abc import Sequence

from tortoise.transactions import in_transaction

from neurall.billing import ledger, pricing
from neurall.clones.events import CloneEventData
from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore, upload_key, upload_prefix
from neurall.clones.training import delete_photos, fail_clone
from neurall.clones.uploads import Upload, prepare_training_images
from neurall.config import Settings
from neurall.errors import InvalidInputError, NotFoundError
from neurall.gpu.catalog import Catalog
from neurall.gpu.types import GenerationRequest
from neurall.ids import parse_id
from neurall.orm.accounts import Account, ApiKey
from neurall.orm.clones import Clone, CloneStatus
from neurall.ratelimit import RateLimit
from neurall.storage import Storage

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 100
MIN_TRAINING_STEPS = 1
# Letters first, then letters, digits, "_" or "-": one word a prompt can carry unchanged.
TRIGGER_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{1,31}")
# Also what generation.params says of a malformed id, so both checks read the same.
NOT_A_READY_CLONE = "Choose one of your ready clones."


class CloneUnavailableError(Exception):
    """A job's clone is gone or not usable any more (deleted after the job was queued)."""


def _default_trigger_word() -> str:
    # A rare token, so the clone's concept does not collide with an ordinary word.
    return "x" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(7))


def validate_clone_input(
    name: str,
    trigger_word: str | None,
    training_steps: int | None,
    settings: Settings,
    base_model: str | None,
    catalog: Catalog,
) -> tuple[str, str, int, str]:
    """(name, trigger word, steps, base model) with defaults (the catalog's default model
    when ``base_model`` is None); InvalidInputError names every bad field."""
    bad: dict[str, str] = {}
    spec = catalog.get(base_model)
    model = spec.id if spec is not None else ""
    if spec is None or not spec.supports_clones:
        trainable = [s.id for s in catalog if s.supports_clones]
        what = "is not one of the models" if spec is None else "cannot train clones"
        bad["input.baseModel"] = (
            f"That model {what}; choose one of: {', '.join(trainable) or 'none'}."
        )
    clean_name = name.strip()
    if not 1 <= len(clean_name) <= MAX_NAME_CHARS:
        bad["input.name"] = f"Names are 1 to {MAX_NAME_CHARS} characters."
    trigger = _default_trigger_word() if trigger_word is None else trigger_word.strip()
    if not TRIGGER_WORD.fullmatch(trigger):
        bad["input.triggerWord"] = (
            "A trigger word is 2 to 32 letters, digits, '_' or '-', starting with a letter."
        )
    steps = settings.clone_default_training_steps if training_steps is None else training_steps
    limit = settings.clone_max_training_steps
    if not MIN_TRAINING_STEPS <= steps <= limit:
        bad["input.trainingSteps"] = (
            f"Training steps must be between {MIN_TRAINING_STEPS} and {limit}."
        )
    if bad:
        raise InvalidInputError.per_field(bad)
    return clean_name, trigger, steps, model


async def create_clone(
    account: Account,
    *,
    name: str,
    trigger_word: str | None,
    training_steps: int | None,
    uploads: Sequence[Upload],
    runtime: CloneRuntime,
    rate_limit: RateLimit | None = None,
    api_key: ApiKey | None = None,
    base_model: str | None = None,
    catalog: Catalog | None = None,
) -> Clone:
    """Validate, store the prepared photos temporarily, hold the credits, queue training.

    Raises RateLimitedError, InvalidInputError (nothing stored), InsufficientCreditsError,
    SpendLimitReachedError (``api_key``'s own cap) or ForbiddenError (nothing left
    behind)."""
    if rate_limit is not None:
        # Before the (costly) image checks: a flood of bad uploads is limited too.
        await rate_limit.take(account.id)
    catalog = catalog or runtime.catalog
    clean_name, trigger, steps, model = validate_clone_input(
        name, trigger_word, training_steps, runtime.settings, base_model, catalog
    )
    prepare = functools.partial(
        prepare_training_images, list(uploads), resolution=runtime.resolution(catalog[model])
    )
    images = await asyncio.get_running_loop().run_in_executor(None, prepare)
    cost = pricing.training_cost(steps, len(images), runtime.pricing)
    clone_id = uuid.uuid4()
    try:
        for index, png in enumerate(images):
            await runtime.storage.put(upload_key(clone_id, index), png)
        async with in_transaction():
            # The hold first: it locks the account row (see generation.service.submit).
            await ledger.hold(account.id, cost, f"clone:{clone_id}", api_key=api_key)
            clone = await Clone.create(
                id=clone_id,
                account_id=account.id,
                name=clean_name,
                trigger_word=trigger,
                image_count=len(images),
                total_steps=steps,
                base_model=model,
                held_credits=cost,
            )
    except BaseException:
        await runtime.storage.delete_prefix(upload_prefix(clone_id))
        raise
    # Before queueing, so that it can never arrive after the training's own events.
    await runtime.bus.publish(CloneEventData.of(clone))
    try:
        await runtime.enqueue(clone.id)
    except Exception:
        log.exception("could not queue training of clone %s", clone.id)
        await delete_photos(clone.id, runtime)
        await fail_clone(clone.id, "The training could not be queued.", runtime)
        raise
    return clone


async def list_clones(account: Account) -> list[Clone]:
    """The caller's clones, newest first."""
    return await Clone.filter(account_id=account.id).order_by("-created_at", "-id")


async def _find(account_id: uuid.UUID, clone_id: str, **filters: object) -> Clone | None:
    """The one clone lookup: the account's clone with this id (and ``filters``), or None;
    someone else's clone is indistinguishable from none."""
    parsed = parse_id(clone_id)
    if parsed is None:
        return None
    return await Clone.get_or_none(id=parsed, account_id=account_id, **filters)


async def get_clone(account: Account, clone_id: str) -> Clone | None:
    return await _find(account.id, clone_id)


async def _remove(clone: Clone, storage: Storage, store: ModelStore) -> None:
    """Delete the row (releasing a hold still open), then the photos and the weights."""
    async with in_transaction():
        # A clone still queued or training gives its credits back; a settled hold stays.
        await ledger.release(clone.ledger_reference)
        await Clone.filter(id=clone.id).delete()
    await storage.delete_prefix(upload_prefix(clone.id))
    await store.delete(clone.adapter_key or ModelStore.key_for(clone.id))


async def delete_clone(account: Account, clone_id: str, runtime: CloneRuntime) -> int:
    """Delete one of the caller's clones and its weights; NotFoundError if not theirs.

    A clone deleted while it trains stops at the next step (the trainer finds its row gone)
    and its photos are deleted now and again when the trainer ends."""
    clone = await get_clone(account, clone_id)
    if clone is None:
        raise NotFoundError()
    await _remove(clone, runtime.storage, runtime.store)
    return 1


async def delete_all_clones(account_id: uuid.UUID, storage: Storage, store: ModelStore) -> int:
    """Erasure: every clone of the account, its photos and its weights. Returns how many."""
    clones = await Clone.filter(account_id=account_id)
    for clone in clones:
        await _remove(clone, storage, store)
    return len(clones)


async def require_ready_clone(
    account_id: uuid.UUID, clone_id: str, model: str | None = None
) -> Clone:
    """For ``generate(input: {cloneId})``: the caller's READY clone (trained on ``model``,
    when given), else InvalidInput."""
    clone = await _find(account_id, clone_id, status=CloneStatus.READY)
    if clone is None:
        raise InvalidInputError(NOT_A_READY_CLONE, ["input.cloneId"])
    if model is not None and clone.base_model != model:
        raise InvalidInputError.per_field({"input.cloneId": _other_model(clone)})
    return clone


def _other_model(clone: Clone) -> str:
    # The clone is the caller's own: naming its model tells them nothing they do not own.
    return f"This clone works only with the model {clone.base_model}."


async def require_ready_clones(account_id: uuid.UUID, request: GenerationRequest) -> None:
    """Every clone ``request`` generates with is the caller's, READY and trained on the
    request's model, else InvalidInput naming each that is not, by the field it was sent in
    (``input.cloneId`` or ``input.adapters.N.cloneId``); someone else's clone reads exactly
    like a missing one."""
    if request.clone_id is not None:
        await require_ready_clone(account_id, request.clone_id, request.model)
        return
    ids = [parse_id(a.clone_id) for a in request.adapters]
    ready = {
        clone.id: clone
        for clone in await Clone.filter(
            account_id=account_id, status=CloneStatus.READY, id__in=[i for i in ids if i]
        )
    }
    bad: dict[str, str] = {}
    for n, clone_id in enumerate(ids):
        clone = ready.get(clone_id) if clone_id is not None else None
        if clone is None:
            bad[f"input.adapters.{n}.cloneId"] = NOT_A_READY_CLONE
        elif clone.base_model != request.model:
            bad[f"input.adapters.{n}.cloneId"] = _other_model(clone)
    if len(set(bad.values())) == 1:  # one sentence for them all, said once
        raise InvalidInputError(next(iter(bad.values())), sorted(bad))
    if bad:
        raise InvalidInputError.per_field(bad)


async def adapter_keys(
    account_id: uuid.UUID, request: GenerationRequest, store: ModelStore
) -> tuple[str, ...]:
    """The storage key of each of ``request.adapters``' weights, in order (for the worker)."""
    return tuple([await adapter_key(account_id, a.clone_id, store) for a in request.adapters])


async def adapter_key(account_id: uuid.UUID, clone_id: str, store: ModelStore) -> str:
    """The storage key of the adapter a job of ``account_id`` generates with (for the
    worker, which passes it to the inference process).

    Raises CloneUnavailableError when the clone is gone, not the account's, or not READY."""
    clone = await _find(account_id, clone_id, status=CloneStatus.READY)
    if clone is None or clone.adapter_key is None:
        raise CloneUnavailableError("the clone is no longer available")
    if not await store.exists(clone.adapter_key):
        raise CloneUnavailableError("the clone's weights are missing")
    return ModelStore.storage_key(clone.adapter_key)
