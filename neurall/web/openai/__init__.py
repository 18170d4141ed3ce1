"""The OpenAI-compatible images API (docs/openai-compat.md): ``/v1/images/generations``,
``/v1/images/edits``, ``/v1/models`` and the signed result links, as thin routes over the
same domain functions GraphQL calls."""

from __future__ import annotations

from aiohttp import web

from neurall.accounts.viewer import Scope
from neurall.services import Services
from neurall.web.openai.call import route
from neurall.web.openai.images import RESULTS_PATH, edits, generations
from neurall.web.openai.links import result_handler
from neurall.web.openai.models import list_models


def add_openai_routes(app: web.Application, services: Services) -> None:
    router = app.router
    generate = Scope.GENERATE
    router.add_post(
        "/v1/images/generations", route(services, "images.generate", generations, scope=generate)
    )
    router.add_post("/v1/images/edits", route(services, "images.edit", edits, scope=generate))
    router.add_get("/v1/models", route(services, "models.list", list_models, scope=None))
    router.add_get(RESULTS_PATH + "{token}", result_handler(services))
