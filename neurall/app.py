"""The aiohttp application factory.

Everything with a lifetime (database, broker, inference, event bus) is opened and closed
in ``cleanup_ctx``, in order, so a failed start or a shutdown releases what was opened.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from neurall.config import Settings
from neurall.graphql.schema import build_schema
from neurall.graphql.view import NeurallGraphQLView
from neurall.heap import freeze_long_lived_objects
from neurall.orm import database
from neurall.outages import RETRY_AFTER_S
from neurall.services import Services
from neurall.web.body_limits import MULTIPART_MAX_BYTES, body_limit_middleware
from neurall.web.cors import cors_middleware
from neurall.web.csrf import csrf_middleware
from neurall.web.exports import export_handler
from neurall.web.images import image_handler
from neurall.web.metrics import metrics_handler
from neurall.web.openai import add_openai_routes
from neurall.web.outages import outage_middleware
from neurall.web.playground import add_playground
from neurall.web.request_id import request_id_middleware
from neurall.web.stripe_webhook import stripe_webhook
from neurall.web.unsubscribe import unsubscribe_handler
from neurall.workers.embedded import generation_context

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=MULTIPART_MAX_BYTES,
        # CORS outermost, so refusals from CSRF still carry CORS headers for trusted origins.
        middlewares=[
            # Outermost: every line logged about the request, refusals included, has its id.
            request_id_middleware,
            cors_middleware(settings),
            body_limit_middleware(settings.max_request_body_bytes),
            csrf_middleware(settings),
            # Innermost: what escapes a handler because a service is down becomes a 503.
            outage_middleware,
        ],
    )
    services = Services.from_settings(settings)
    app[SERVICES] = services
    # First, so it closes last: everything below may still read or write blobs on its way out.
    app.cleanup_ctx.append(_storage(services))
    app.cleanup_ctx.append(_database(settings))
    # Right after the database: cleanup runs in reverse, so the last usage rows are written
    # after every other service has stopped and before the database closes.
    app.cleanup_ctx.append(_usage_log(services))
    # After the database: the queue and actors use it, and close before it does.
    app.cleanup_ctx.append(generation_context(settings, services))
    view = NeurallGraphQLView(schema=build_schema(settings), services=services)
    app.router.add_route("*", "/graphql", view)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/images/{image_id}", image_handler(services))
    app.router.add_get("/exports/{export_id}", export_handler(services))
    app.router.add_get("/readyz", readiness(services))
    app.router.add_get("/metrics", metrics_handler(settings))
    unsubscribe = unsubscribe_handler(settings.secret_key.get_secret_value())
    app.router.add_get("/unsubscribe", unsubscribe)
    app.router.add_post("/unsubscribe", unsubscribe)
    app.router.add_post("/webhooks/stripe", stripe_webhook(settings))
    add_openai_routes(app, services)
    add_playground(app, settings)  # last: its catch-all serves the web app's own paths
    # Last start-up step: the heap built so far lives until exit (see neurall/heap.py).
    app.on_startup.append(lambda _app: _freeze_heap())
    return app


async def _freeze_heap() -> None:
    freeze_long_lived_objects()


def _storage(services: Services) -> CleanupContext:
    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        yield
        await services.storage.close()

    return ctx


def _database(settings: Settings) -> CleanupContext:
    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        context = await database.open_database(settings.database_url)
        yield
        await database.close_database(context)

    return ctx


def _usage_log(services: Services) -> CleanupContext:
    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        services.usage_log.start()
        yield
        try:
            await services.usage_log.close()
        except Exception as exc:
            # Said loudly: these rows are lost. Only the count and the error's type: a
            # database error's message can quote a row's values.
            pending = services.usage_log.pending
            log.error("lost %d usage rows at shutdown (%s)", pending, type(exc).__name__)

    return ctx


async def healthz(_request: web.Request) -> web.Response:
    """The process is alive (no dependencies checked)."""
    return web.json_response({"status": "ok"})


def readiness(services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def readyz(_request: web.Request) -> web.Response:
        """Everything this process needs answers: the database, and the broker when one is
        configured. Load balancers send traffic only then."""
        checks = {"database": await database.is_reachable()}
        runtime = services.generation
        if not services.settings.is_embedded_broker:
            checks["broker"] = runtime is not None and runtime.broker_connected()
        if all(checks.values()):
            return web.json_response({"status": "ready"})
        return web.json_response(
            {"status": "unavailable", "checks": checks},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    return readyz
