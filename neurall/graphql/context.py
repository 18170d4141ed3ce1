"""The per-request context: who is calling, from where, and the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from strawberry.types import Info as StrawberryInfo

from neurall.accounts.viewer import Viewer
from neurall.audit import AuditEventType, record
from neurall.services import Services


@dataclass
class Context:
    request: web.Request
    # The HTTP response being built (cookies are set on it); the socket for subscriptions.
    response: web.StreamResponse
    services: Services
    viewer: Viewer | None
    # Set by Strawberry from the graphql-transport-ws connection_init payload.
    connection_params: dict[str, Any] | None = field(default=None)
    # Why a presented API key was refused, when its holder may be told (it was revoked).
    auth_refusal: str | None = None
    # What the operation created, for its usage log (see privacy.usage): the ledger
    # reference of its work (usage() sums what that was charged) and the images asked for.
    usage_reference: str | None = None
    usage_images: int = 0
    # ... and the model (catalog id) that work runs on.
    usage_model: str | None = None

    @property
    def client_ip(self) -> str:
        return self.request.remote or "unknown"

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("User-Agent", "")

    async def audit(self, event: AuditEventType, **safe_details: object) -> None:
        """Record ``event`` for the calling account, from this request's IP and agent."""
        account_id = self.viewer.account.id if self.viewer else None
        await record(event, account_id, self.client_ip, self.user_agent, **safe_details)


Info = StrawberryInfo[Context, None]
