"""Serving a job's images to a viewer, and the privacy rule for API results.

Only the job's owner gets an image; anyone else, a missing image and an expired API image
are all "no image", so an interface answers them alike and reveals nothing about other
accounts' images. API results are ephemeral: once an API image has been delivered in full,
its row and file are deleted (a second fetch finds nothing and ``job.images`` no longer
lists it). A delivery cut short, or one that sent no bytes (an HTTP HEAD), leaves it in
place until its TTL (the expired-api-results retention policy). Playground images stay
until their history item is deleted.

Every interface that hands out result bytes goes through this module, so none can skip the
deletion: ``serve_image`` for the /images route, ``serve_linked_image`` for a signed link
(neurall.generation.result_links: no viewer, API images only), and ``hand_over`` for an
answer that carries the images themselves (the OpenAI-compatible ``b64_json``).
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


def _usable(image: JobImage | None) -> ResultImage | None:
    """What an interface needs of ``image``, unless it is missing or has expired."""
    if image is None or (image.expires_at is not None and image.expires_at <= now()):
        return None
    return ResultImage(
        id=image.id,
        storage_key=image.storage_key,
        content_type=image.content_type,
        ephemeral=image.expires_at is not None,
    )


async def _find_image(viewer: Viewer | None, image_id: uuid.UUID) -> ResultImage | None:
    """The image if ``viewer``'s account owns it and it has not expired; else None. With no
    viewer (a signed link), only an API image: a link can never reach a kept one."""
    if viewer is None:
        return _usable(await JobImage.get_or_none(id=image_id, expires_at__isnull=False))
    return _usable(await JobImage.get_or_none(id=image_id, job__account_id=viewer.account.id))


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


async def serve_linked_image(image_id: uuid.UUID, storage: Storage, deliver: Deliver) -> bool:
    """``serve_image`` for the bearer of a verified signed link: the API image it names,
    to anyone, deleted once delivered in full."""
    image = await _find_image(None, image_id)
    if image is None:
        return False
    delivered = await deliver(image)
    if delivered:
        await discard(image, storage)
    return delivered


# Sends every image's bytes in one answer; True only when the whole answer went out.
Send = Callable[[list[bytes]], Awaitable[bool]]


async def hand_over(viewer: Viewer, job_id: uuid.UUID, storage: Storage, send: Send) -> bool:
    """Read the images of ``viewer``'s job (those still there, in order) whole and hand
    them to ``send`` in one answer; once ``send`` reports it delivered, the API images are
    deleted: nothing of them is kept after the answer. Returns whether it was delivered."""
    rows = await JobImage.filter(job_id=job_id, job__account_id=viewer.account.id).order_by("index")
    found = [image for row in rows if (image := _usable(row)) is not None]
    blobs = [blob for image in found if (blob := await storage.get(image.storage_key)) is not None]
    delivered = await send(blobs)
    if delivered:
        for image in found:
            if image.ephemeral:
                await discard(image, storage)
    return delivered


async def discard(image: ResultImage, storage: Storage) -> None:
    """Delete an API image that was delivered: row first (so no one is handed it again),
    then its file. A file left by a failure here is an orphan the retention sweep removes."""
    deleted = await JobImage.filter(id=image.id).delete()
    if deleted:
        await storage.delete(image.storage_key)
