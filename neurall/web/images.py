"""GET /images/{id}: the image bytes, to the job's owner only (session or API key).

Anyone else, a missing image, and an expired API image all get the same 404, so the route
reveals nothing about other accounts' images.

The bytes stream from storage (neurall.web.downloads), never held whole in memory.
API results are ephemeral: once an API image's whole body has been written to the client,
its file and row are deleted (a second fetch is a 404 and ``job.images`` no longer lists
it). A download cut short leaves it in place until its TTL (the expired-api-results
retention policy). Playground images stay until their history item is deleted.
"""

from __future__ import annotations

import logging

from aiohttp import web

from neurall.clock import now
from neurall.ids import parse_id
from neurall.orm.jobs import JobImage
from neurall.services import Services
from neurall.storage import Storage
from neurall.web.auth import authenticate
from neurall.web.downloads import send_object

log = logging.getLogger(__name__)


def image_handler(services: Services):
    async def handler(request: web.Request) -> web.StreamResponse:
        not_found = web.Response(status=404, text="not found")
        viewer = await authenticate(request, services.settings)
        image_id = parse_id(request.match_info["image_id"])
        if viewer is None or image_id is None:
            return not_found
        image = await JobImage.get_or_none(id=image_id, job__account_id=viewer.account.id)
        if image is None or (image.expires_at is not None and image.expires_at <= now()):
            return not_found
        response = await send_object(
            request, services.storage, image.storage_key, content_type=image.content_type
        )
        if response is None:
            return not_found
        if request.method == "GET" and image.expires_at is not None:
            # Reached only when every byte went out (a dropped connection raises above); a
            # HEAD delivered nothing.
            await discard_api_image(image, services.storage)
        return response

    return handler


async def discard_api_image(image: JobImage, storage: Storage) -> None:
    """Delete an API image that has been fetched in full: row first, then its file."""
    deleted = await JobImage.filter(id=image.id).delete()
    if deleted:
        await storage.delete(image.storage_key)
