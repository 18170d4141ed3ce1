"""The aiohttp GraphQL view: builds each request's Context and authenticates sockets."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, TypeGuard

from aiohttp import hdrs, web
from cross_web import HTTPException
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.websocket_origin import is_same_origin
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from neurall.graphql.context import Context
from neurall.graphql.schema import Schema
from neurall.graphql.uploads import UploadRequestAdapter
from neurall.metrics import OPEN_WEBSOCKETS
from neurall.services import Services
from neurall.web.auth import (
    authenticate,
    authorization_param,
    refusal_for_api_key,
    viewer_for_api_key,
)
from neurall.web.origins import trusted_origins

log = logging.getLogger(__name__)


class NeurallGraphQLView(GraphQLView[Context, None]):
    # Queries only over POST: GET would let any page trigger reads with the user's cookie.
    allow_queries_via_get = False
    # Keeps uploaded files' names and bounds multipart bodies (createClone's photos).
    request_adapter_class = UploadRequestAdapter

    def __init__(self, schema: Schema, services: Services) -> None:
        settings = services.settings
        super().__init__(
            schema=schema,
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=False,
            # graphql-transport-ws only: one protocol to harden (init timeout, limits).
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
            multipart_uploads_enabled=True,
            # Counts every in-flight operation on the socket, subscriptions included.
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            # Browsers attach the session cookie to any page's handshake and CORS does not
            # apply to websockets: a handshake whose Origin is neither this host nor trusted
            # is refused (403) before the cookie is looked at. Clients that send no Origin
            # (not browsers) are let through and carry no ambient cookie to abuse.
            allowed_origins=sorted(trusted_origins(settings)),
        )
        self.services = services

    def is_websocket_request(self, request: web.Request) -> TypeGuard[web.Request]:
        # Strawberry asks twice per request by building a WebSocketResponse whose handshake
        # check raises (and catches) an HTTPBadRequest for every plain POST. aiohttp's first
        # check is this header; only a request that passes it needs the full one.
        if request.headers.get(hdrs.UPGRADE, "").lower().strip() != "websocket":
            return False
        return super().is_websocket_request(request)

    def parse_json(self, data: str | bytes) -> object:
        # A body of valid JSON that is not an object ("null", "1") would otherwise reach
        # Strawberry's dict handling and end as a 500. Arrays stay: they are refused as
        # batches (batching is off).
        value = super().parse_json(data)
        if not isinstance(value, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value

    def _check_websocket_origin(self, request: web.Request) -> bool:
        # Strawberry's own refusal log tells operators to edit `allowed_origins`, a
        # parameter they never see here: name the setting that feeds it instead.
        headers = self.get_websocket_headers(request)
        origin = headers.get("origin")
        if origin is None:
            return True
        host = headers.get("host")
        if headers.get("sec-fetch-site") == "same-origin" or is_same_origin(origin, host):
            return True
        if self.is_websocket_origin_allowed(request, origin):
            return True
        log.warning(
            "refused a websocket from origin %r to host %r; if pages on that origin should "
            "connect, add it to NEURALL_CORS_ORIGINS",
            origin,
            host,
        )
        return False

    async def run(self, request: web.Request, **kwargs: Any) -> Any:  # type: ignore[override]
        if not self.is_websocket_request(request):
            return await super().run(request, **kwargs)
        # Open for as long as the socket is served (refused handshakes count too, briefly).
        OPEN_WEBSOCKETS.inc()
        try:
            return await super().run(request, **kwargs)
        finally:
            OPEN_WEBSOCKETS.dec()

    async def create_websocket_response(
        self, request: web.Request, subprotocol: str | None
    ) -> web.WebSocketResponse:
        # aiohttp's default frame limit is 4 MiB; graphql-transport-ws messages are small.
        # A bigger message closes the socket with 1009 (message too big).
        ws = web.WebSocketResponse(
            protocols=[subprotocol] if subprotocol else [],
            max_msg_size=self.services.settings.ws_max_message_bytes,
        )
        await ws.prepare(request)
        return ws

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        viewer = await authenticate(request, self.services.settings)
        refusal = None
        if viewer is None and "Authorization" in request.headers:
            refusal = await refusal_for_api_key(request.headers["Authorization"])
        return Context(
            request=request,
            response=response,
            services=self.services,
            viewer=viewer,
            auth_refusal=refusal,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        authorization = authorization_param(context.connection_params)
        if authorization is not None:
            viewer = await viewer_for_api_key(authorization)
            if viewer is None:
                # A socket that presents a bad key is refused, not downgraded.
                refusal = await refusal_for_api_key(authorization)
                raise ConnectionRejectionError({"message": refusal or "invalid API key"})
            context.viewer = viewer
        return await super().on_ws_connect(context)
