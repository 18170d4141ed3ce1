"""Standard Webhooks signatures: secrets, and the three headers of a delivery.

The secret is ``whsec_`` + base64 of 24 random bytes (the spec's format). The signature is
``v1,`` + base64 HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}``, computed by the
``standardwebhooks`` library. While a rotated-out secret is still valid, both signatures
are sent, space-separated, so a receiver holding either secret verifies the delivery.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signed_headers(
    event_id: str, timestamp: datetime, body: bytes, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The webhook-id, webhook-timestamp and webhook-signature headers for ``body``."""
    text = body.decode()
    signatures = [Webhook(s).sign(event_id, timestamp, text) for s in signing_secrets]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
