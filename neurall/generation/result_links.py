"""Signed links to API results: a capability that fetches one image without credentials.

OpenAI-compatible clients expect the ``url`` of a generated image to work on its own, in a
browser or another program, with no API key. Such a link is
``<image id hex>.<expiry, unix seconds>.<HMAC-SHA256>`` under the server's secret key: it
names one image, works until the image's own expiry (the API result TTL), and, like every
API result, only until the image has been delivered in full once (neurall.generation.results
deletes it then). A forged or expired link is refused before the database is asked. The
link is never stored or logged: whoever holds it may fetch the image, once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime

from neurall.clock import now
from neurall.orm.jobs import JobImage

_CONTEXT = b"neurall-result-link-v1:"


def _signature(secret_key: str, image_id: uuid.UUID, expires: int) -> str:
    message = _CONTEXT + image_id.bytes + str(expires).encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret_key: str, image_id: uuid.UUID, expires_at: datetime) -> str:
    """The link token of ``image_id``, valid until ``expires_at`` (rounded down to the
    second, so it never outlives the image)."""
    expires = int(expires_at.timestamp())
    return f"{image_id.hex}.{expires}.{_signature(secret_key, image_id, expires)}"


def verify(secret_key: str, token: str, at: datetime) -> uuid.UUID | None:
    """The image a genuine, unexpired ``token`` names; None for a forged, malformed or
    expired one (the same answer: the link cannot be used)."""
    raw_id, _, rest = token.partition(".")
    raw_expires, _, signature = rest.partition(".")
    try:
        image_id = uuid.UUID(hex=raw_id)
        expires = int(raw_expires)
    except ValueError:
        return None
    # As bytes: compare_digest refuses str with non-ASCII characters, which a URL can carry.
    expected = _signature(secret_key, image_id, expires).encode()
    if not hmac.compare_digest(signature.encode(), expected):
        return None
    if datetime.fromtimestamp(expires, UTC) <= at:
        return None
    return image_id


async def job_links(job_id: uuid.UUID, secret_key: str) -> list[str]:
    """A link token for each image of an API job still there (not yet fetched, not
    expired), in order. A playground image has no expiry and never gets one."""
    images = await JobImage.filter(job_id=job_id, expires_at__gt=now()).order_by("index")
    return [sign(secret_key, image.id, image.expires_at) for image in images if image.expires_at]
