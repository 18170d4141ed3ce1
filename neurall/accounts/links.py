"""Tokens in e-mailed links: confirming an address, resetting a password.

A token is its row's id and an HMAC of it under the server's secret key, so it can be
rendered again when the message is sent (the outbox holds only the id) and a forged one
is refused before the database is asked. The database keeps only its SHA-256 hash. It
works once (``used_at``), until ``expires_at``; it is never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import timedelta
from enum import StrEnum

from neurall import clock
from neurall.errors import InvalidInputError
from neurall.orm.mail import EmailToken

_INVALID = "This link is not valid, was already used, or has expired."
USED = "This link was already used. Each link works once."
EXPIRED = "This link has expired."


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name


def _signature(secret_key: str, purpose: Purpose, token_id: uuid.UUID) -> str:
    message = f"neurall-email-link-v1:{purpose}:".encode() + token_id.bytes
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_token(secret_key: str, purpose: Purpose, token_id: uuid.UUID) -> str:
    return f"{token_id.hex}.{_signature(secret_key, purpose, token_id)}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    secret_key: str,
    account_id: uuid.UUID,
    purpose: Purpose,
    email: str,
    ttl_s: int,
    token_id: uuid.UUID | None = None,
) -> EmailToken:
    """A new token row (in the caller's transaction); the link is rendered at send time.
    Given a ``token_id`` already issued, that row: a retried send reuses its token."""
    if token_id is None:
        token_id = uuid.uuid4()
    elif existing := await EmailToken.get_or_none(id=token_id):
        return existing
    return await EmailToken.create(
        id=token_id,
        account_id=account_id,
        purpose=purpose.value,
        token_hash=_hash(link_token(secret_key, purpose, token_id)),
        email=email,
        expires_at=clock.now() + timedelta(seconds=ttl_s),
    )


async def redeem(secret_key: str, token: str, purpose: Purpose) -> EmailToken:
    """Use ``token`` up: the row, now marked used. InvalidInput when forged, unknown,
    used or expired; one of two concurrent requests wins."""
    raw_id, _, signature = token.strip().partition(".")
    try:
        token_id = uuid.UUID(hex=raw_id)
    except ValueError:
        raise InvalidInputError(_INVALID, ["token"]) from None
    if not hmac.compare_digest(
        signature.encode(), _signature(secret_key, purpose, token_id).encode()
    ):
        raise InvalidInputError(_INVALID, ["token"])
    now = clock.now()
    redeemed = await EmailToken.filter(
        token_hash=_hash(token.strip()),
        purpose=purpose.value,
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if not redeemed:
        # The signature is ours, so the holder has the real link: telling them why it
        # failed gives nothing away, and tells them what to do next.
        row = await EmailToken.get_or_none(token_hash=_hash(token.strip()), purpose=purpose.value)
        if row is not None and row.used_at is not None:
            raise InvalidInputError(USED, ["token"])
        if row is not None:
            raise InvalidInputError(EXPIRED, ["token"])
        raise InvalidInputError(_INVALID, ["token"])
    return await EmailToken.get(token_hash=_hash(token.strip()))


async def retire(account_id: uuid.UUID, purpose: Purpose) -> None:
    """Mark every unused token of this purpose used (e.g. after a password reset)."""
    await EmailToken.filter(
        account_id=account_id, purpose=purpose.value, used_at__isnull=True
    ).update(used_at=clock.now())
