"""createClone, deleteClone, clones, clone and the cloneEvents subscription.

Reading clones needs the READ or the CLONE scope (a key made to train clones may watch
them train); creating and deleting need CLONE. Another account's clone is null/NotFound,
exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from neurall import events
from neurall.accounts.viewer import Scope, Viewer
from neurall.billing.pricing import Pricing, training_cost
from neurall.clones import service
from neurall.clones.events import CloneEventData
from neurall.clones.runtime import CloneRuntime
from neurall.clones.uploads import MAX_IMAGES
from neurall.errors import DomainError, ForbiddenError, InvalidInputError, NotFoundError
from neurall.graphql.context import Info
from neurall.graphql.deleted import Deleted, DeleteResult
from neurall.graphql.errors import (
    Forbidden,
    InsufficientCredits,
    InvalidInput,
    NotAuthenticated,
    PublicError,
    RateLimited,
    SpendLimitReached,
    returns_user_errors,
)
from neurall.graphql.outages import until_outage
from neurall.graphql.permissions import require_scope, require_viewer
from neurall.graphql.uploads import UploadedFile
from neurall.ids import parse_id
from neurall.orm import clones as orm


@strawberry.enum(description="Where a clone is in its life.")
class CloneStatus(Enum):
    QUEUED = "QUEUED"
    TRAINING = "TRAINING"
    READY = "READY"
    FAILED = "FAILED"


@strawberry.input(description="A clone to train on the uploaded photos.")
class CreateCloneInput:
    name: str
    trigger_word: str | None = strawberry.field(
        default=None,
        description="Word that invokes the clone in prompts. Generated when omitted.",
    )
    training_steps: int | None = strawberry.field(
        default=None, description="Defaults to the server's setting; bounded by the server."
    )
    base_model: strawberry.ID | None = strawberry.field(
        default=None,
        description="The Model.id to train on (one with supportsClones); omitted: the default "
        "model. The clone works only with this model.",
    )


@strawberry.type(description="A custom model fine-tuned on a user's photos.")
class Clone:
    id: strawberry.ID
    name: str
    trigger_word: str = strawberry.field(description="Word that invokes the clone in prompts.")
    status: CloneStatus
    progress: float = strawberry.field(description="0.0 to 1.0 (READY is 1.0).")
    source_images_deleted: bool = strawberry.field(
        description="True once the uploaded source images are gone (after training, "
        "success or not)."
    )
    error: str | None
    created_at: datetime
    step: int = strawberry.field(description="Training steps done.")
    total_steps: int
    loss: float | None = strawberry.field(description="Training loss of the latest step.")
    image_count: int = strawberry.field(description="Photos it was trained on.")
    held_credits: int = strawberry.field(description="Credits reserved at creation.")
    cost_credits: int | None = strawberry.field(
        description="Credits finally charged (set when training ends; 0 if it failed)."
    )
    finished_at: datetime | None
    base_model: strawberry.ID = strawberry.field(
        description="The Model.id the clone was trained on; generate refuses it with any "
        "other model (InvalidInput)."
    )


def clone_type(clone: orm.Clone) -> Clone:
    return Clone(
        id=strawberry.ID(str(clone.id)),
        name=clone.name,
        trigger_word=clone.trigger_word,
        status=CloneStatus(clone.status.value),
        progress=clone.progress,
        source_images_deleted=clone.source_images_deleted,
        error=clone.error,
        created_at=clone.created_at,
        step=clone.step,
        total_steps=clone.total_steps,
        loss=clone.loss,
        image_count=clone.image_count,
        held_credits=clone.held_credits,
        cost_credits=clone.cost_credits,
        finished_at=clone.finished_at,
        base_model=strawberry.ID(clone.base_model),
    )


def _apply(clone: orm.Clone, event: CloneEventData) -> orm.Clone:
    """The clone as of ``event`` (the live fields an event carries)."""
    clone.status = orm.CloneStatus(event.status)
    clone.step, clone.total_steps, clone.loss = event.step, event.total_steps, event.loss
    clone.error, clone.source_images_deleted = event.error, event.source_images_deleted
    return clone


_RANK = {"QUEUED": 0, "TRAINING": 1, "READY": 2, "FAILED": 2}

CreateCloneResult = Annotated[
    Clone
    | InvalidInput
    | InsufficientCredits
    | NotAuthenticated
    | Forbidden
    | RateLimited
    # Beyond the contract's members (an addition): an API key's own cap was reached.
    | SpendLimitReached,
    strawberry.union("CreateCloneResult"),
]


def _runtime(info: Info) -> CloneRuntime:
    runtime = info.context.services.clones
    if runtime is None:
        raise RuntimeError("cloning is not running in this process")
    return runtime


def _reader(info: Info) -> Viewer:
    """READ or CLONE; errors travel as PublicError (these fields have no result union)."""
    try:
        viewer = require_viewer(info)
        if not (viewer.has_scope(Scope.READ) or viewer.has_scope(Scope.CLONE)):
            raise ForbiddenError("This API key lacks the READ or CLONE scope.")
    except DomainError as exc:
        raise PublicError(exc) from None
    return viewer


@strawberry.type
class CloneQuery:
    @strawberry.field(
        description="Credits createClone would hold to train on this many photos for this "
        "many steps (omitted: the server's default). Needs no sign-in; out-of-range numbers "
        "are priced at the nearest bound createClone accepts."
    )
    def estimate_clone_cost(
        self, info: Info, images: int, training_steps: int | None = None
    ) -> int:
        settings = info.context.services.settings
        steps = settings.clone_default_training_steps if training_steps is None else training_steps
        steps = min(max(steps, 1), settings.clone_max_training_steps)
        photos = min(max(images, 1), MAX_IMAGES)
        return training_cost(steps, photos, Pricing.from_settings(settings))

    @strawberry.field(description="The caller's clones, newest first.")
    async def clones(self, info: Info) -> list[Clone]:
        viewer = _reader(info)
        return [clone_type(c) for c in await service.list_clones(viewer.account)]

    @strawberry.field(description="Null unless the clone exists and belongs to the caller.")
    async def clone(self, info: Info, id: strawberry.ID) -> Clone | None:
        viewer = _reader(info)
        clone = await service.get_clone(viewer.account, str(id))
        return clone_type(clone) if clone is not None else None


@strawberry.type
class CloneMutation:
    @strawberry.mutation(
        description="Source images are deleted once training ends; the trained clone is kept. "
        "3 to 20 JPEG, PNG or WebP photos of at most 10 MB each, sent as a GraphQL "
        "multipart request (with the X-Neurall-CSRF header when signed in by cookie)."
    )
    @returns_user_errors
    async def create_clone(
        self, info: Info, input: CreateCloneInput, images: list[Upload]
    ) -> CreateCloneResult:
        viewer = require_scope(info, Scope.CLONE)
        for index, image in enumerate(images):
            # JSON variables can put anything where an Upload goes; only file parts count.
            if not isinstance(image, UploadedFile):
                raise InvalidInputError(
                    f"Image {index + 1} is not a file: send the photos as a multipart request.",
                    [f"images.{index}"],
                )
        # A hold that takes the credits below the low-credit threshold records an event.
        async with events.announcing():
            clone = await service.create_clone(
                viewer.account,
                name=input.name,
                trigger_word=input.trigger_word,
                training_steps=input.training_steps,
                uploads=images,  # type: ignore[arg-type]
                runtime=_runtime(info),
                rate_limit=info.context.services.rate_limits.create_clone,
                api_key=viewer.api_key,
                base_model=None if input.base_model is None else str(input.base_model),
                catalog=info.context.services.catalog,
            )
        info.context.usage_reference = clone.ledger_reference
        info.context.usage_model = clone.base_model
        return clone_type(clone)

    @strawberry.mutation(description="Deletes the clone and its trained weights.")
    @returns_user_errors
    async def delete_clone(self, info: Info, id: strawberry.ID) -> DeleteResult:
        viewer = require_scope(info, Scope.CLONE)
        count = await service.delete_clone(viewer.account, str(id), _runtime(info))
        return Deleted(deleted_count=count)


@strawberry.type
class CloneSubscription:
    @strawberry.subscription(
        description="Live events of one of the caller's clones while it trains. Starts with "
        "the clone's current state and ends once it is READY or FAILED."
    )
    async def clone_events(
        self, info: Info, clone_id: strawberry.ID
    ) -> AsyncGenerator[Clone, None]:
        viewer = _reader(info)
        runtime = _runtime(info)
        parsed = parse_id(str(clone_id))
        # Subscribe before reading the row, so no event falls between the two.
        async with runtime.bus.subscribe(parsed or uuid.uuid4()) as live:
            clone = await service.get_clone(viewer.account, str(clone_id))
            if clone is None:
                raise PublicError(NotFoundError())
            yield clone_type(clone)
            if clone.status in orm.ENDED_CLONE_STATUSES:
                return
            async for event in until_outage(live):
                # Events from before the snapshot may still arrive: never go backwards.
                if (_RANK[event.status], event.step) < (_RANK[clone.status.value], clone.step):
                    continue
                yield clone_type(_apply(clone, event))
                if event.terminal:
                    return
