"""Secrets handed to clients: session tokens and API keys.

Both are stored only as SHA-256 hashes. A plain hash (not a password hash) is right here:
the tokens carry 256 bits of randomness, so they cannot be guessed offline, and lookups by
hash must be fast on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

API_KEY_PREFIX = "nk_"
_KEY_BYTES = 32
_BODY_LENGTH = 43  # 62**43 > 2**256, so 32 random bytes always fit
_CHECKSUM_LENGTH = 6  # CRC32 in base62, as GitHub's tokens do, for secret scanners
SHOWN_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def new_api_key() -> str:
    body = _base62(int.from_bytes(secrets.token_bytes(_KEY_BYTES), "big"), _BODY_LENGTH)
    return API_KEY_PREFIX + body + _checksum(body)


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)


def looks_like_api_key(value: str) -> bool:
    """Format and checksum check, done before touching the database."""
    expected_length = len(API_KEY_PREFIX) + _BODY_LENGTH + _CHECKSUM_LENGTH
    if len(value) != expected_length or not value.startswith(API_KEY_PREFIX):
        return False
    body = value[len(API_KEY_PREFIX) : -_CHECKSUM_LENGTH]
    # As bytes: compare_digest refuses str with non-ASCII characters, which a caller may send.
    return hmac.compare_digest(value[-_CHECKSUM_LENGTH:].encode(), _checksum(body).encode())


def shown_prefix(api_key: str) -> str:
    return api_key[:SHOWN_PREFIX_LENGTH]
