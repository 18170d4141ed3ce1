"""Who is calling: an account, through a session or through an API key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from neurall.orm.accounts import Account, ApiKey, Session


class Scope(StrEnum):
    GENERATE = "GENERATE"
    READ = "READ"
    CLONE = "CLONE"
    WEBHOOKS = "WEBHOOKS"


ALL_SCOPES = frozenset(Scope)
# What a key gets when createApiKey names no scopes. Not WEBHOOKS: a key that can point
# the account's events at any URL is asked for by name.
DEFAULT_SCOPES = frozenset({Scope.GENERATE, Scope.READ, Scope.CLONE})


@dataclass(frozen=True)
class Viewer:
    account: Account
    session: Session | None = None
    api_key: ApiKey | None = None

    @property
    def via_api_key(self) -> bool:
        return self.api_key is not None

    @property
    def scopes(self) -> frozenset[Scope]:
        if self.api_key is None:
            return ALL_SCOPES  # a signed-in person can do everything their account can
        return frozenset(Scope(s) for s in self.api_key.scopes.split())

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes
