"""Endpoint signing secrets at rest: sealed when stored, opened to sign, resealed under the
current key by `neurall secrets rotate` (and by `neurall migrate`, which also seals the
plain ``whsec_`` values that versions before sealing stored).

Each secret is sealed for its endpoint's row (neurall.secrets_at_rest), so a sealed secret
copied into another endpoint's row does not open there. The current and the previous secret
of one endpoint share that context: a rotation moves the sealed value as it is.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from neurall.orm.webhooks import WebhookEndpoint
from neurall.secrets_at_rest import Keyring, SecretNotOpened
from neurall.webhooks.signing import SECRET_PREFIX

log = logging.getLogger(__name__)

RESEAL_BATCH = 500


def _context(endpoint_id: uuid.UUID | str) -> str:
    return f"webhook_endpoint:{endpoint_id}"


def seal(keyring: Keyring, endpoint_id: uuid.UUID, secret: str) -> str:
    return keyring.seal(secret, _context(endpoint_id))


def signing_secrets(endpoint: WebhookEndpoint, now: datetime, keyring: Keyring) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    during its overlap. SecretNotOpened when one cannot be opened (a missing previous key)."""
    found = [keyring.open(endpoint.secret, _context(endpoint.id))]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(keyring.open(endpoint.previous_secret, _context(endpoint.id)))
    return found


@dataclass
class Resealed:
    updated: int = 0  # endpoints whose secrets were sealed again under the current key
    dropped: int = 0  # expired previous secrets deleted rather than resealed
    # Endpoints left as they were: a secret sealed under a key the keyring lacks, or changed.
    unreadable: list[uuid.UUID] = field(default_factory=list)


async def reseal_all(keyring: Keyring, now: datetime) -> Resealed:
    """Seal every stored secret under the current key; idempotent, safe beside a running
    service (each row is updated only if it still holds what was read)."""
    report = Resealed()
    last: uuid.UUID | None = None
    while True:
        query = WebhookEndpoint.all().order_by("id").limit(RESEAL_BATCH)
        if last is not None:
            query = query.filter(id__gt=last)
        ids = await query.values_list("id", flat=True)
        for endpoint_id in ids:
            await _reseal_one(keyring, uuid.UUID(str(endpoint_id)), now, report)
        if len(ids) < RESEAL_BATCH:
            return report
        last = ids[-1]


async def _reseal_one(
    keyring: Keyring, endpoint_id: uuid.UUID, now: datetime, report: Resealed
) -> None:
    # A row changed between read and write (its owner rotated the secret) is read again:
    # the writer sealed under the current key, so the second pass usually has nothing to do.
    while True:
        row = await WebhookEndpoint.get_or_none(id=endpoint_id).values(
            "secret", "previous_secret", "previous_secret_expires_at"
        )
        if row is None:
            return  # deleted meanwhile
        secret, previous = row["secret"], row["previous_secret"]
        expires: datetime | None = row["previous_secret_expires_at"]
        try:
            new_secret = _resealed(keyring, endpoint_id, secret)
            new_previous = None  # none, or expired: it no longer signs, so nothing to keep
            if previous is not None and expires is not None and expires > now:
                new_previous = _resealed(keyring, endpoint_id, previous)
        except SecretNotOpened as exc:
            log.warning("webhook endpoint %s: its secret was not resealed: %s", endpoint_id, exc)
            report.unreadable.append(endpoint_id)
            return
        if new_secret == secret and new_previous == previous:
            return
        updated = await WebhookEndpoint.filter(
            id=endpoint_id, secret=secret, previous_secret=previous
        ).update(secret=new_secret, previous_secret=new_previous)
        if updated:
            report.updated += 1
            if previous is not None and new_previous is None:
                report.dropped += 1
            return


def _resealed(keyring: Keyring, endpoint_id: uuid.UUID, stored: str) -> str:
    """``stored`` sealed under the current key: as it is when it already is."""
    if keyring.is_current(stored):
        return stored
    # Versions before sealing stored the whsec_ value itself; a sealed value never starts so.
    plain = (
        stored if stored.startswith(SECRET_PREFIX) else keyring.open(stored, _context(endpoint_id))
    )
    return seal(keyring, endpoint_id, plain)
