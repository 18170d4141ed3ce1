"""API keys: create (secret shown once), list, revoke, regenerate. Sessions only."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from neurall import clock
from neurall.accounts import api_keys
from neurall.accounts.verification import require_verified
from neurall.accounts.viewer import Scope
from neurall.audit import AuditEventType
from neurall.billing import spend_limits
from neurall.errors import DomainError
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PublicError,
    returns_user_errors,
)
from neurall.graphql.permissions import require_session
from neurall.orm import accounts as orm


@strawberry.enum(description="What an API key may do.")
class ApiKeyScope(Enum):
    GENERATE = strawberry.enum_value(
        "GENERATE", description="generate, cancelJob, job, jobs, jobEvents"
    )
    READ = strawberry.enum_value("READ", description="me, creditLedger, usage, clones")
    CLONE = strawberry.enum_value("CLONE", description="createClone, deleteClone")
    WEBHOOKS = strawberry.enum_value(
        "WEBHOOKS", description="webhook endpoints and their deliveries"
    )


@strawberry.enum(description="The calendar period (UTC) a spend limit counts over.")
class SpendPeriod(Enum):
    DAY = "DAY"
    MONTH = "MONTH"


@strawberry.input(description="A cap on what one API key may spend.")
class SpendLimitInput:
    credits: int | None = strawberry.field(
        description="Most credits the key may spend per period; null removes the cap."
    )
    period: SpendPeriod = SpendPeriod.DAY


@strawberry.type(description="An API key's own spending cap and how much of it is used.")
class SpendLimit:
    credits: int
    period: SpendPeriod
    spent: int = strawberry.field(
        description="Credits charged or held through this key in the current period."
    )
    resets_at: datetime


@strawberry.type(description="An API key. The secret itself is never shown again.")
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(
        description="The first characters of the key, enough to recognise it; never the secret."
    )
    scopes: list[ApiKeyScope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    _model: strawberry.Private[orm.ApiKey]

    @strawberry.field(
        description="Null when the key has no cap of its own (the account's credits still "
        "bound it)."
    )
    async def spend_limit(self) -> SpendLimit | None:
        current = await spend_limits.status(self._model, clock.now())
        if current is None:
            return None
        return SpendLimit(
            credits=current.credits,
            period=SpendPeriod(current.period.value),
            spent=current.spent,
            resets_at=current.resets_at,
        )

    @classmethod
    def from_model(cls, key: orm.ApiKey) -> ApiKey:
        return cls(
            _model=key,
            id=strawberry.ID(str(key.id)),
            name=key.name,
            prefix=key.prefix,
            scopes=[ApiKeyScope(s) for s in key.scopes.split()],
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


@strawberry.type(description="A new key with its secret, shown this once.")
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(
        description="The full key. Returned once, never stored in plain text, never shown again."
    )


CreateApiKeyResult = Annotated[
    CreatedApiKey | InvalidInput | NotAuthenticated | Forbidden | NotFound,
    strawberry.union("CreateApiKeyResult"),
]
ApiKeyResult = Annotated[
    ApiKey | InvalidInput | NotAuthenticated | Forbidden | NotFound,
    strawberry.union("ApiKeyResult"),
]
RevokeApiKeyResult = Annotated[
    ApiKey | NotAuthenticated | Forbidden | NotFound, strawberry.union("RevokeApiKeyResult")
]


def _created(key: orm.ApiKey, secret: str) -> CreatedApiKey:
    return CreatedApiKey(api_key=ApiKey.from_model(key), secret=secret)


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="The signed-in account's keys, newest first.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        try:
            viewer = require_session(info)
        except DomainError as exc:
            raise PublicError(exc) from None
        return [ApiKey.from_model(k) for k in await api_keys.list_api_keys(viewer.account)]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(
        description="Creates a key; scopes default to GENERATE, READ and CLONE (WEBHOOKS "
        "only when asked for). spendLimit caps what the key may spend."
    )
    @returns_user_errors
    async def create_api_key(
        self,
        info: Info,
        name: str,
        scopes: list[ApiKeyScope] | None = None,
        spend_limit: SpendLimitInput | None = None,
    ) -> CreateApiKeyResult:
        viewer = require_session(info)
        chosen = None if scopes is None else [Scope(s.value) for s in scopes]
        require_verified(viewer.account, info.context.services.settings, "create API keys")
        if spend_limit is not None:
            spend_limits.validate_limit(spend_limit.credits)  # before the key exists
        key, secret = await api_keys.create_api_key(viewer.account, name, chosen)
        if spend_limit is not None and spend_limit.credits is not None:
            key = await api_keys.set_spend_limit(
                viewer.account,
                str(key.id),
                spend_limit.credits,
                spend_limits.SpendPeriod(spend_limit.period.value),
            )
        await info.context.audit(
            AuditEventType.API_KEY_CREATED, api_key_id=key.id, scopes=key.scopes.split()
        )
        return _created(key, secret)

    @strawberry.mutation(description="Revokes a key; it fails on the very next request.")
    @returns_user_errors
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyResult:
        viewer = require_session(info)
        key = await api_keys.revoke_api_key(viewer.account, id)
        await info.context.audit(AuditEventType.API_KEY_REVOKED, api_key_id=key.id)
        return ApiKey.from_model(key)

    @strawberry.mutation(
        description="Caps what the key may spend per day or month (null credits: no cap). "
        "generate and createClone through it answer SpendLimitReached past the cap."
    )
    @returns_user_errors
    async def set_api_key_spend_limit(
        self, info: Info, id: strawberry.ID, limit: SpendLimitInput
    ) -> ApiKeyResult:
        viewer = require_session(info)
        key = await api_keys.set_spend_limit(
            viewer.account,
            str(id),
            limit.credits,
            spend_limits.SpendPeriod(limit.period.value),
        )
        await info.context.audit(AuditEventType.API_KEY_SPEND_LIMIT_SET, api_key_id=key.id)
        return ApiKey.from_model(key)

    @strawberry.mutation(
        description="Revokes the key and issues a new one with the same name and scopes."
    )
    @returns_user_errors
    async def regenerate_api_key(self, info: Info, id: strawberry.ID) -> CreateApiKeyResult:
        viewer = require_session(info)
        require_verified(viewer.account, info.context.services.settings, "create API keys")
        key, secret = await api_keys.regenerate_api_key(viewer.account, id)
        await info.context.audit(
            AuditEventType.API_KEY_REGENERATED, api_key_id=id, new_api_key_id=key.id
        )
        return _created(key, secret)
