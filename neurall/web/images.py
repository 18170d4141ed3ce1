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
from neurall.storage import Storage
from neurall.web.auth import authenticate
from neurall.web.downloads import send_object


class ImageAnswer:
    """The ``deliver`` callback of neurall.generation.results for one request: streams the
    image from storage as the answer, which it keeps (``response``, None when none was
    sent)."""

    def __init__(self, request: web.Request, storage: Storage) -> None:
        self.request, self.storage = request, storage
        self.response: web.StreamResponse | None = None

    async def __call__(self, image: ResultImage) -> bool:
        self.response = await send_object(
            self.request, self.storage, image.storage_key, content_type=image.content_type
        )
        # A returned GET response went out whole (a dropped connection raises in
        # send_object); a HEAD delivered nothing.
        return self.response is not None and self.request.method == "GET"


def image_handler(services: Services) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        not_found = web.Response(status=404, text="not found")
        viewer = await authenticate(request, services.settings)
        image_id = parse_id(request.match_info["image_id"])
        if viewer is None or image_id is None:
            return not_found
        answer = ImageAnswer(request, services.storage)
        await serve_image(viewer, image_id, services.storage, answer)
        return answer.response or not_found

    return handler
