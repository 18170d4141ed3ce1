"""Signed unsubscribe links for marketing e-mail.

The token is the account id and an HMAC of it under the server's secret key: anyone
holding the link (the recipient) can opt out without logging in, and nobody can forge one
for another account. It does not expire, because unsubscribe links in old e-mails must
keep working; it can do nothing but opt out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from urllib.parse import urlencode

from neurall.errors import InvalidInputError
from neurall.orm.accounts import Account

_PURPOSE = b"neurall-unsubscribe-v1:"


def _signature(secret_key: str, account_id: uuid.UUID) -> str:
    digest = hmac.new(secret_key.encode(), _PURPOSE + account_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unsubscribe_token(secret_key: str, account_id: uuid.UUID) -> str:
    return f"{account_id.hex}.{_signature(secret_key, account_id)}"


def unsubscribe_url(public_url: str, secret_key: str, account_id: uuid.UUID) -> str:
    """The link for e-mails' body and their List-Unsubscribe header (RFC 8058)."""
    query = urlencode({"token": unsubscribe_token(secret_key, account_id)})
    return f"{public_url}/unsubscribe?{query}"


def _verified_account_id(secret_key: str, token: str) -> uuid.UUID:
    raw_id, _, signature = token.partition(".")
    try:
        account_id = uuid.UUID(hex=raw_id)
    except ValueError:
        raise InvalidInputError("This unsubscribe link is not valid.", ["token"]) from None
    if not hmac.compare_digest(signature.encode(), _signature(secret_key, account_id).encode()):
        raise InvalidInputError("This unsubscribe link is not valid.", ["token"])
    return account_id


async def unsubscribe(secret_key: str, token: str) -> None:
    """Opt the token's account out of marketing e-mail. Idempotent; an erased account is
    simply left as it is."""
    account_id = _verified_account_id(secret_key, token)
    await Account.filter(id=account_id).update(marketing_opt_in=False)
