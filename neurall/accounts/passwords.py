"""Password hashing with argon2id at OWASP's recommended minimum parameters.

Hashing costs ~19 MiB and tens of milliseconds, so it runs in a thread to keep the event
loop free.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from neurall.errors import InvalidInputError

MIN_LENGTH = 10
MAX_LENGTH = 256

# OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

# Verified against when the e-mail is unknown, so a failed login takes the same time
# whether or not the account exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0123456789")


def validate_password(password: str, field: str = "input.password") -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInputError(
            f"Passwords are {MIN_LENGTH} to {MAX_LENGTH} characters long.", [field]
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash is checked against a dummy."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
