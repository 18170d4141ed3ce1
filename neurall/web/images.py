"""GET /images/{id}: the image bytes, to the job's owner only (session or API key).

Who may have an image, and that an API image is deleted once delivered in full, are the
domain's rules (neurall.generation.results); this route answers in HTTP. Anyone else, a
missing image, and an expired API image all get the same 404. The bytes stream from
storage (neurall.web.downloads), never held whole in memory.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from neurall.generation.results import ResultImage, serve_image
from neurall.ids import parse_id
from neurall.services import Services
from neurall.web.auth import authenticate
from neurall.web.downloads import send_object


def image_handler(services: Services) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        not_found = web.Response(status=404, text="not found")
        viewer = await authenticate(request, services.settings)
        image_id = parse_id(request.match_info["image_id"])
        if viewer is None or image_id is None:
            return not_found
        response: web.StreamResponse | None = None

        async def deliver(image: ResultImage) -> bool:
            nonlocal response
            response = await send_object(
                request, services.storage, image.storage_key, content_type=image.content_type
            )
            # A returned GET response went out whole (a dropped connection raises in
            # send_object); a HEAD delivered nothing.
            return response is not None and request.method == "GET"

        await serve_image(viewer, image_id, services.storage, deliver)
        return response or not_found

    return handler
