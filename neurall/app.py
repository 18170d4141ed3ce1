"""The aiohttp application factory.

Everything with a lifetime (database, broker, inference, event bus) is opened and closed
in ``cleanup_ctx``, in order, so a failed start or a shutdown releases what was opened.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from neurall.config import Settings
from neurall.graphql.schema import build_schema
from neurall.graphql.view import NeurallGraphQLView
from neurall.orm import database
from neurall.services import Services

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=256 * 1024 * 1024)
    services = Services.from_settings(settings)
    app[SERVICES] = services
    app.cleanup_ctx.append(_database(settings))
    view = NeurallGraphQLView(schema=build_schema(settings), services=services)
    app.router.add_route("*", "/graphql", view)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def _database(settings: Settings):
    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        await database.open_database(settings.database_url)
        yield
        await database.close_database()

    return ctx


async def healthz(_request: web.Request) -> web.Response:
    """The process is alive (no dependencies checked)."""
    return web.json_response({"status": "ok"})


async def readyz(_request: web.Request) -> web.Response:
    """The database answers; load balancers send traffic only then."""
    if await database.is_reachable():
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "unavailable"}, status=503)
