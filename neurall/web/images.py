"""GET /images/{id}: the image bytes, to the job's owner only (session or API key).

Anyone else, a missing image, and an expired API image all get the same 404, so the route
reveals nothing about other accounts' images.
"""

from __future__ import annotations

from aiohttp import web

from neurall.generation.lifecycle import now
from neurall.ids import parse_id
from neurall.orm.jobs import JobImage
from neurall.services import Services
from neurall.web.auth import authenticate


def image_handler(services: Services):
    async def handler(request: web.Request) -> web.Response:
        not_found = web.Response(status=404, text="not found")
        viewer = await authenticate(request, services.settings)
        image_id = parse_id(request.match_info["image_id"])
        runtime = services.generation
        if viewer is None or image_id is None or runtime is None:
            return not_found
        image = await JobImage.get_or_none(id=image_id, job__account_id=viewer.account.id)
        if image is None or (image.expires_at is not None and image.expires_at <= now()):
            return not_found
        data = await runtime.storage.get(image.storage_key)
        if data is None:
            return not_found
        return web.Response(
            body=data,
            content_type=image.content_type,
            # Private results: no shared cache may keep them.
            headers={"Cache-Control": "private, no-store"},
        )

    return handler
