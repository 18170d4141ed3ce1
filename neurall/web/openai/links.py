"""``GET /v1/images/results/{token}``: an API image through its signed link, without
credentials (neurall.generation.result_links).

A forged, tampered or expired link gets 403 before the database is asked. A genuine one
whose image is gone (fetched in full once already, or swept) gets 410: API results are
delivered once. The bytes stream from storage, as ``/images/{id}`` does.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from neurall.clock import now
from neurall.generation.result_links import verify
from neurall.generation.results import serve_linked_image
from neurall.services import Services
from neurall.web.images import ImageAnswer
from neurall.web.openai.errors import OpenAIError


def result_handler(services: Services) -> Handler:
    secret = services.settings.secret_key.get_secret_value()

    async def handler(request: web.Request) -> web.StreamResponse:
        image_id = verify(secret, request.match_info["token"], now())
        if image_id is None:
            return OpenAIError(
                403, "This link is not valid or has expired.", kind="permission_error"
            ).response()
        answer = ImageAnswer(request, services.storage)
        await serve_linked_image(image_id, services.storage, answer)
        if answer.response is None:
            return OpenAIError(
                410, "This image was already downloaded, or has expired.", code="gone"
            ).response()
        return answer.response

    return handler
