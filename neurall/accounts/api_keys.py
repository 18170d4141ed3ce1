"""API keys: created with the secret shown once, listed, revoked and regenerated.

Keys are looked up by the SHA-256 of the presented value (a unique index), so a revoked
key fails on the very next request: there is no cache to go stale.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from neurall import clock, events
from neurall.accounts.tokens import hash_token, looks_like_api_key, new_api_key, shown_prefix
from neurall.accounts.viewer import DEFAULT_SCOPES, Scope
from neurall.billing import spend_limits
from neurall.billing.spend_limits import SpendPeriod
from neurall.errors import InvalidInputError, NotFoundError
from neurall.ids import parse_id
from neurall.orm.accounts import Account, ApiKey

MAX_NAME_LENGTH = 100
MAX_KEYS_PER_ACCOUNT = 50
_LAST_USED_PRECISION = timedelta(minutes=1)


def _clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidInputError(f"Key names are 1 to {MAX_NAME_LENGTH} characters.", ["name"])
    return name


def _scope_text(scopes: Iterable[Scope] | None) -> str:
    chosen = set(scopes) if scopes is not None else set(DEFAULT_SCOPES)
    if not chosen:
        raise InvalidInputError("Choose at least one scope.", ["scopes"])
    return " ".join(sorted(chosen))


async def _insert(account: Account, name: str, scopes: str) -> tuple[ApiKey, str]:
    """The key, and the event that tells the owner a key was made."""
    secret = new_api_key()
    async with events.announcing(), in_transaction():
        key = await ApiKey.create(
            account=account,
            name=name,
            prefix=shown_prefix(secret),
            key_hash=hash_token(secret),
            scopes=scopes,
        )
        await events.record(
            events.EventType.API_KEY_CREATED, subject_id=key.id, account_id=account.id
        )
    return key, secret


async def create_api_key(
    account: Account, name: str, scopes: Iterable[Scope] | None
) -> tuple[ApiKey, str]:
    """A new key and its secret, which the caller shows once and forgets."""
    clean_name = _clean_name(name)
    scope_text = _scope_text(scopes)
    live = await ApiKey.filter(account=account, revoked_at=None).count()
    if live >= MAX_KEYS_PER_ACCOUNT:
        raise InvalidInputError(
            f"An account can have at most {MAX_KEYS_PER_ACCOUNT} active keys.", ["name"]
        )
    return await _insert(account, clean_name, scope_text)


async def list_api_keys(account: Account) -> list[ApiKey]:
    return await ApiKey.filter(account=account).order_by("-created_at")


async def _own_key(account: Account, key_id: str) -> ApiKey:
    uid = parse_id(key_id)
    key = await ApiKey.filter(id=uid, account=account).first() if uid else None
    if key is None:
        raise NotFoundError("No such API key.")
    return key


async def revoke_api_key(account: Account, key_id: str) -> ApiKey:
    key = await _own_key(account, key_id)
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        await ApiKey.filter(id=key.id, revoked_at=None).update(revoked_at=key.revoked_at)
    return key


async def regenerate_api_key(account: Account, key_id: str) -> tuple[ApiKey, str]:
    """Revoke the key and issue a new one with the same name and scopes."""
    old = await _own_key(account, key_id)
    if old.revoked_at is not None:
        raise NotFoundError("That key is revoked; create a new one.")
    await revoke_api_key(account, key_id)
    key, secret = await _insert(account, old.name, old.scopes)
    if old.spend_limit_credits is not None:
        # The cap travels with the key, or regenerating would lift it.
        key.spend_limit_credits = old.spend_limit_credits
        key.spend_limit_period = old.spend_limit_period
        await key.save(update_fields=["spend_limit_credits", "spend_limit_period"])
    return key, secret


async def set_spend_limit(
    account: Account, key_id: str, credits: int | None, period: SpendPeriod
) -> ApiKey:
    """Cap (or, with ``credits`` None, uncap) what the key may spend per period. Work
    already held through it keeps counting toward the new cap."""
    key = await _own_key(account, key_id)
    if key.revoked_at is not None:
        raise NotFoundError("That key is revoked.")
    key.spend_limit_credits = spend_limits.validate_limit(credits)
    key.spend_limit_period = period.value
    await key.save(update_fields=["spend_limit_credits", "spend_limit_period"])
    return key


REVOKED_MESSAGE = "This API key was revoked. Create a new one on the API keys page."


async def presented_key_was_revoked(presented: str) -> bool:
    """Whether a presented secret is a key its owner revoked. It says nothing about any
    other key: only someone holding this very secret learns it is dead."""
    if not looks_like_api_key(presented):
        return False
    return await ApiKey.filter(key_hash=hash_token(presented), revoked_at__isnull=False).exists()


async def authenticate_api_key(presented: str) -> ApiKey | None:
    """The live key (with its account) for a presented secret, or None."""
    if not looks_like_api_key(presented):
        return None
    digest = hash_token(presented)
    key = await ApiKey.filter(key_hash=digest).select_related("account").first()
    # The index lookup already matched; the constant-time compare guards against any
    # future change that looks keys up by prefix instead.
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        return None
    if key.account.erased_at is not None:
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= _LAST_USED_PRECISION:
        # Conditional update: concurrent requests write at most once a minute per key.
        cutoff = now - _LAST_USED_PRECISION
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff)
        await ApiKey.filter(stale, id=key.id).update(last_used_at=now)
        key.last_used_at = now
    return key
