"""The aiohttp GraphQL view: builds each request's Context and authenticates sockets."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from strawberry.aiohttp.views import GraphQLView
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from neurall.graphql.context import Context
from neurall.graphql.schema import Schema
from neurall.services import Services
from neurall.web.auth import authenticate, authorization_param, viewer_for_api_key


class NeurallGraphQLView(GraphQLView[Context, None]):
    # Queries only over POST: GET would let any page trigger reads with the user's cookie.
    allow_queries_via_get = False

    def __init__(self, schema: Schema, services: Services) -> None:
        super().__init__(
            schema=schema,
            graphql_ide=None if services.settings.production else "graphiql",
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            multipart_uploads_enabled=True,
        )
        self.services = services

    async def get_context(
        self, request: web.Request, response: web.Response | web.WebSocketResponse
    ) -> Context:
        viewer = await authenticate(request, self.services.settings)
        return Context(request=request, response=response, services=self.services, viewer=viewer)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        authorization = authorization_param(context.connection_params)
        if authorization is not None:
            viewer = await viewer_for_api_key(authorization)
            if viewer is None:
                # A socket that presents a bad key is refused, not downgraded.
                raise ConnectionRejectionError({"message": "invalid API key"})
            context.viewer = viewer
        return await super().on_ws_connect(context)
