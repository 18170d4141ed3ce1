"""Resetting a forgotten password through a link e-mailed to the account's address.

Asking never tells whether an account has the address: every well-formed address gets the
same answer after the same work (one outbox row carrying only the address, and its
dispatch) and the same time (at least NEURALL_PASSWORD_RESET_RESPONSE_MS), and the rate
limits count every request alike. Whether an account has the address is looked up by the
mail worker when the row is sent: it issues the link then, or sends nothing.

The link works once, for NEURALL_PASSWORD_RESET_TTL_S (1 h). Using it sets the new
password, ends every session (whoever knew the old password is out), and confirms the
address (the link proved it).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from tortoise.transactions import in_transaction

from neurall.accounts.emails import normalize_email
from neurall.accounts.passwords import hash_password, validate_password
from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.mail import links, notices, outbox
from neurall.mail.dispatch import MailDispatch
from neurall.mail.links import Purpose
from neurall.orm.accounts import Account, Session
from neurall.orm.mail import OutboxMessage
from neurall.ratelimit import BackendFactory, RateLimit

log = logging.getLogger(__name__)

RESET_KIND = "password_reset"


class ResetThrottle:
    """requestPasswordReset per address (one mailbox is not flooded) and per IP (one
    client cannot probe or flood many). The buckets live where ``backend`` keeps them
    (neurall.ratelimit.backend_factory): shared by every API process on `database`."""

    def __init__(
        self, per_email_per_hour: int, per_ip_per_hour: int, backend: BackendFactory
    ) -> None:
        # Addresses (of accounts or not) and IPs: the shared table sees only their hashes.
        self.by_email = RateLimit("reset-email", backend(per_email_per_hour, 3600), hash_keys=True)
        self.by_ip = RateLimit("reset-ip", backend(per_ip_per_hour, 3600), hash_keys=True)


async def request_password_reset(
    email: str, *, ip: str, throttle: ResetThrottle, settings: Settings, mail: MailDispatch
) -> None:
    """Queue a reset request for ``email``, whether or not an account has it. InvalidInput
    only for what is not an address; RateLimited alike for every address."""
    started = time.monotonic()
    normalized = normalize_email(email, field="email")
    await throttle.by_ip.check(ip)
    await throttle.by_email.take(normalized)
    await throttle.by_ip.take(ip)
    try:
        message_id = await outbox.queue(RESET_KIND, normalized, None)
        # Sent once this answer has left, so the sender's work (in this process when the
        # queue is embedded) lengthens no answer.
        await mail.dispatch([message_id], delay_ms=settings.password_reset_response_ms)
    finally:
        await _pad(started, settings.password_reset_response_ms / 1000)


async def issue_reset_link(request: OutboxMessage, settings: Settings) -> uuid.UUID | None:
    """When a queued reset request is sent: the id of its link's token, or None when no
    account has the address (nothing is sent). The token takes the request's id, so a
    retried send reuses it instead of issuing another."""
    account = await Account.filter(email=request.to_address, erased_at__isnull=True).first()
    if account is None:
        return None
    token = await links.issue(
        settings.secret_key.get_secret_value(),
        account.id,
        Purpose.RESET_PASSWORD,
        request.to_address,
        settings.password_reset_ttl_s,
        token_id=request.id,
    )
    return token.id


async def _pad(started: float, floor_s: float) -> None:
    spent = time.monotonic() - started
    if spent > floor_s:
        # The answer time now depends on the work done; raise the floor above this.
        log.warning("password reset request took %.3f s, over its %.3f s floor", spent, floor_s)
        return
    await asyncio.sleep(floor_s - spent)


async def reset_password(
    token: str, new_password: str, *, settings: Settings, mail: MailDispatch
) -> Account:
    """Set the password from a reset link and end every session of the account. The
    password is checked first, so a rejected one does not use the link up."""
    validate_password(new_password, field="newPassword")
    row = await links.redeem(settings.secret_key.get_secret_value(), token, Purpose.RESET_PASSWORD)
    account = await Account.get_or_none(id=row.account_id, erased_at__isnull=True)
    if account is None or account.email != row.email:
        # Erased, or the address changed since the link was sent to the old one.
        raise InvalidInputError("This link is not valid.", ["token"])
    account.password_hash = await hash_password(new_password)
    account.email_verified = True
    async with in_transaction():
        await account.save(update_fields=["password_hash", "email_verified", "updated_at"])
        await Session.filter(account_id=account.id).delete()
        await links.retire(account.id, Purpose.RESET_PASSWORD)
        notice = await notices.queue(account, notices.Notice.PASSWORD_CHANGED)
    await mail.dispatch([notice] if notice else [])
    return account
