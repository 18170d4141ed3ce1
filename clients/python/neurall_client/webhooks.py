"""Verifying webhook deliveries (Standard Webhooks, as the server signs them).

    payload = webhooks.verify(body, headers, secret)

``body`` is the raw request body (bytes or str, exactly as received), ``headers`` the
request's headers (any mapping; names are matched case-insensitively), ``secret`` the
endpoint's ``whsec_...`` signing secret. It returns the parsed JSON payload, or raises
WebhookVerificationError when a header is missing, no signature matches, or the timestamp
is more than ``tolerance`` seconds from now (a replayed or delayed delivery). During a
secret rotation the server signs with both secrets, and either verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from neurall_client.errors import NeurallError

__all__ = ["DEFAULT_TOLERANCE_S", "WebhookVerificationError", "sign", "verify"]

DEFAULT_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret


class WebhookVerificationError(NeurallError):
    """The delivery is not authentic, or too old or too new to trust."""


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> Any:
    """The delivery's JSON payload, once its signature and timestamp check out."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError(
            "Missing webhook-id, webhook-timestamp or webhook-signature."
        )
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("The webhook-timestamp is not a number.") from exc
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        raise WebhookVerificationError("The webhook-timestamp is too old or too new.")
    raw = body.encode() if isinstance(body, str) else body
    expected = sign(secret, msg_id, sent_at, raw)
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise WebhookVerificationError("The body is not JSON.") from exc
    raise WebhookVerificationError("No signature matches.")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The base64 HMAC-SHA256 of ``id.timestamp.body`` keyed with the secret's bytes."""
    key = base64.b64decode(
        secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    )
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
