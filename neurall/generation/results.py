"""Serving a job's images to a viewer, and the privacy rule for API results.

Only the job's owner gets an image; anyone else, a missing image and an expired API image
are all "no image", so an interface answers them alike and reveals nothing about other
accounts' images. API results are ephemeral: once an API image has been delivered in full,
its row and file are deleted (a second fetch finds nothing and ``job.images`` no longer
lists it). A delivery cut short, or one that sent no bytes (an HTTP HEAD), leaves it in
place until its TTL (the expired-api-results retention policy). Playground images stay
until their history item is deleted.

Every interface that hands out result bytes (the /images route, and any other API that
returns images) goes through ``serve_image``, so none can skip the deletion.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from neurall.accounts.viewer import Viewer
from neurall.clock import now
from neurall.orm.jobs import JobImage
from neurall.storage import Storage


@dataclass(frozen=True)
class ResultImage:
    """What an interface needs to send an image: where its bytes are and their type."""

    id: uuid.UUID
    storage_key: str
    content_type: str
    # An API result: deleted once delivered in full.
    ephemeral: bool


# Sends the image to the client; True only when every byte reached it. An interface cannot
# know that before its own write returns, hence a callback rather than a lookup.
Deliver = Callable[[ResultImage], Awaitable[bool]]


async def _find_image(viewer: Viewer, image_id: uuid.UUID) -> ResultImage | None:
    """The image if ``viewer``'s account owns it and it has not expired; else None."""
    image = await JobImage.get_or_none(id=image_id, job__account_id=viewer.account.id)
    if image is None or (image.expires_at is not None and image.expires_at <= now()):
        return None
    return ResultImage(
        id=image.id,
        storage_key=image.storage_key,
        content_type=image.content_type,
        ephemeral=image.expires_at is not None,
    )


async def serve_image(
    viewer: Viewer, image_id: uuid.UUID, storage: Storage, deliver: Deliver
) -> bool:
    """Hand the image to ``deliver`` when ``viewer`` may have it, and delete an API image
    that ``deliver`` reports delivered in full. Returns whether it was delivered in full
    (False: no such image for this viewer, or not sent whole)."""
    image = await _find_image(viewer, image_id)
    if image is None:
        return False
    delivered = await deliver(image)
    if delivered and image.ephemeral:
        await discard(image, storage)
    return delivered


async def discard(image: ResultImage, storage: Storage) -> None:
    """Delete an API image that was delivered: row first (so no one is handed it again),
    then its file. A file left by a failure here is an orphan the retention sweep removes."""
    deleted = await JobImage.filter(id=image.id).delete()
    if deleted:
        await storage.delete(image.storage_key)
