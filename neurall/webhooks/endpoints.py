"""An account's webhook endpoints: create (secret shown once), update, delete, rotate.

URLs are checked when saved (https only unless NEURALL_WEBHOOKS_ALLOW_INSECURE_URLS, no
credentials in them, no literal address deliveries may not reach), and again at every
connection (neurall.webhooks.http), because a name can point elsewhere tomorrow.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from neurall.errors import InvalidInputError, NotFoundError
from neurall.ids import parse_id
from neurall.orm.accounts import Account
from neurall.orm.webhooks import WebhookEndpoint
from neurall.secrets_at_rest import Keyring
from neurall.webhooks.events import SUBSCRIBABLE, EventType
from neurall.webhooks.http import address_allowed, literal_address
from neurall.webhooks.secret_store import seal
from neurall.webhooks.signing import new_secret

MAX_ENDPOINTS_PER_ACCOUNT = 10
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
# After a rotation the old secret keeps signing this long, so receivers can switch over.
SECRET_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    events: list[EventType] | None = None
    description: str | None = None
    enabled: bool | None = None


def check_url(url: str, *, allow_insecure: bool) -> str:
    url = url.strip()
    field = ["input.url"]
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInputError(f"URLs are at most {MAX_URL_LENGTH} characters.", field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidInputError("That is not a URL.", field) from None
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes:
        raise InvalidInputError("Webhook URLs must start with https://.", field)
    if not parts.hostname:
        raise InvalidInputError("The URL has no host.", field)
    if parts.username or parts.password:
        raise InvalidInputError("Webhook URLs cannot carry credentials.", field)
    literal = literal_address(parts.hostname)
    local_name = parts.hostname == "localhost" or parts.hostname.endswith(".localhost")
    if (literal is not None and not address_allowed(literal, allow_loopback=allow_insecure)) or (
        local_name and not allow_insecure
    ):
        raise InvalidInputError("Webhook URLs cannot point at a private address.", field)
    return url


def check_events(events: Iterable[EventType]) -> str:
    chosen = set(events)
    if not chosen:
        raise InvalidInputError("Choose at least one event type.", ["input.events"])
    if not chosen <= SUBSCRIBABLE:
        raise InvalidInputError("That event type cannot be subscribed to.", ["input.events"])
    return " ".join(sorted(e.name for e in chosen))


def check_description(description: str | None) -> str | None:
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInputError(
            f"Descriptions are at most {MAX_DESCRIPTION_LENGTH} characters.",
            ["input.description"],
        )
    return description


def event_types(endpoint: WebhookEndpoint) -> list[EventType]:
    return [EventType[name] for name in endpoint.events.split()]


async def create_endpoint(
    account: Account,
    url: str,
    events: Iterable[EventType],
    description: str | None,
    *,
    allow_insecure: bool,
    keyring: Keyring,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, which the caller shows once (only its sealed form is
    stored)."""
    clean_url = check_url(url, allow_insecure=allow_insecure)
    event_text = check_events(events)
    clean_description = check_description(description)
    if await WebhookEndpoint.filter(account_id=account.id).count() >= MAX_ENDPOINTS_PER_ACCOUNT:
        raise InvalidInputError(
            f"An account can have at most {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints.",
            ["input.url"],
        )
    secret = new_secret()
    endpoint_id = uuid.uuid4()  # the sealed secret is bound to its row's id
    endpoint = await WebhookEndpoint.create(
        id=endpoint_id,
        account_id=account.id,
        url=clean_url,
        events=event_text,
        description=clean_description,
        secret=seal(keyring, endpoint_id, secret),
    )
    return endpoint, secret


async def list_endpoints(account: Account) -> list[WebhookEndpoint]:
    return await WebhookEndpoint.filter(account_id=account.id).order_by("created_at", "id")


async def own_endpoint(account: Account, endpoint_id: str) -> WebhookEndpoint:
    parsed = parse_id(endpoint_id)
    found = await WebhookEndpoint.get_or_none(id=parsed, account_id=account.id) if parsed else None
    if found is None:
        raise NotFoundError("No such webhook endpoint.")
    return found


async def update_endpoint(
    account: Account, endpoint_id: str, changes: EndpointChanges, *, allow_insecure: bool
) -> WebhookEndpoint:
    endpoint = await own_endpoint(account, endpoint_id)
    if changes.url is not None:
        endpoint.url = check_url(changes.url, allow_insecure=allow_insecure)
    if changes.events is not None:
        endpoint.events = check_events(changes.events)
    if changes.description is not None:
        endpoint.description = check_description(changes.description) or None
    if changes.enabled is not None:
        endpoint.enabled = changes.enabled
        if changes.enabled:
            # Turned back on by its owner: the server's reason and failure run are over.
            endpoint.disabled_reason = None
            endpoint.failing_since = None
    await endpoint.save()
    return endpoint


async def delete_endpoint(account: Account, endpoint_id: str) -> int:
    """Delete the endpoint and its delivery log; 1, or NotFoundError."""
    endpoint = await own_endpoint(account, endpoint_id)
    await endpoint.delete()
    return 1


async def rotate_secret(
    account: Account, endpoint_id: str, now: datetime, keyring: Keyring
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one signs beside it until ``now + SECRET_OVERLAP``."""
    endpoint = await own_endpoint(account, endpoint_id)
    secret = new_secret()
    # Both are sealed for this row, so the current one moves over still sealed.
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + SECRET_OVERLAP
    endpoint.secret = seal(keyring, endpoint.id, secret)
    await endpoint.save()
    return endpoint, secret
