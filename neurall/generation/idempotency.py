"""Idempotent submission: the same key with the same input is the same job; with another
input it is a Conflict (as Stripe answers), never a silent return of the first job.

API requests are never stored, so the job keeps a digest of the input as sent: an HMAC
keyed with the server's secret, so that it cannot be checked against guessed prompts by
anyone who reads the database without the key. Unset fields and explicit nulls digest the
same, so a client that spells a default out is still replaying the same request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

from neurall.errors import ConflictError
from neurall.orm.jobs import Job

REUSED_KEY = "This idempotencyKey was already used with a different input."


def request_digest(account_id: uuid.UUID, sent: Mapping[str, Any], secret: bytes) -> str:
    """A keyed digest of the input as the caller sent it (before server defaults)."""
    canonical = json.dumps(
        {k: v for k, v in sent.items() if v is not None},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    message = b"generate:" + account_id.bytes + canonical.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_same_request(existing: Job, digest: str | None) -> None:
    """Raise ConflictError when ``existing`` was submitted with another input. Jobs from
    before digests were kept (null) are taken as the same request."""
    if digest is None or existing.request_digest is None:
        return
    if not hmac.compare_digest(existing.request_digest, digest):
        raise ConflictError(REUSED_KEY)
