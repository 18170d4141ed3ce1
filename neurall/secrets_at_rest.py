"""Secrets the server must read back (webhook signing secrets), sealed before they are stored.

A secret that can be a hash is stored as one (passwords, session tokens, API keys); this is
for the few the server has to use again. They are sealed with AES-256-GCM (authenticated:
a changed byte makes opening fail) under a key derived with HKDF-SHA256 from
NEURALL_SECRET_KEY and a label of its own, so the key that signs links never encrypts
anything directly. A sealed value reads ``v1:<key id>:<base64url(nonce + ciphertext)>``;
the key id is derived from the key too, so the value names the key that opens it and no
key numbering has to be configured.

Rotation: the current key seals, and it or any of NEURALL_PREVIOUS_SECRET_KEYS opens, so
values sealed under an old key keep working until `neurall secrets rotate` reseals them.
Each value is sealed for a context (its row), given as associated data: a value copied into
another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from neurall.config import Settings

VERSION = "v1"
_KEY_LABEL = b"neurall secrets at rest: AES-256-GCM key"
_KEY_ID_LABEL = b"neurall secrets at rest: key id"
_NONCE_BYTES = 12  # GCM's standard nonce; random, and far from 2^32 seals per key


class SecretNotOpened(Exception):
    """A sealed value that cannot be opened: not sealed, sealed under a key this server does
    not have, or changed since it was sealed. The message never holds the value."""


def _derive(secret_key: str, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(
        secret_key.encode()
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyring:
    """The current key, which seals, and the previous ones, which only open."""

    def __init__(self, current: str, previous: Iterable[str] = ()) -> None:
        if not current:
            raise ValueError("sealing secrets needs a secret key")
        self._keys: dict[str, AESGCM] = {}
        for secret_key in (current, *previous):
            key_id = _b64(_derive(secret_key, _KEY_ID_LABEL, 6))
            self._keys.setdefault(key_id, AESGCM(_derive(secret_key, _KEY_LABEL, 32)))
        self.current_key_id = next(iter(self._keys))

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        return cls(settings.secret_key.get_secret_value(), settings.previous_secret_key_list)

    def seal(self, plaintext: str, context: str) -> str:
        header = f"{VERSION}:{self.current_key_id}:"
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.current_key_id].encrypt(
            nonce, plaintext.encode(), (header + context).encode()
        )
        return header + _b64(nonce + sealed)

    def open(self, sealed: str, context: str) -> str:
        version, _, rest = sealed.partition(":")
        key_id, _, payload = rest.partition(":")
        if version != VERSION or not payload:
            raise SecretNotOpened("not a sealed secret")
        key = self._keys.get(key_id)
        if key is None:
            raise SecretNotOpened(
                f"sealed under key {key_id}, which is neither NEURALL_SECRET_KEY nor one of "
                "NEURALL_PREVIOUS_SECRET_KEYS"
            )
        try:
            raw = _unb64(payload)
            header = f"{version}:{key_id}:"
            plain = key.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], (header + context).encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretNotOpened(f"sealed value under key {key_id} fails authentication") from None
        return plain.decode()

    def is_current(self, sealed: str) -> bool:
        """Whether ``sealed`` is sealed under the current key (else it needs resealing)."""
        return sealed.startswith(f"{VERSION}:{self.current_key_id}:")
