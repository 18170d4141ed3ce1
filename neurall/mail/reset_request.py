"""Asking for a password reset link: the same answer whether or not an account has the
address.

Every well-formed address gets the same answer after the same work (one outbox row
carrying only the address, and its dispatch) and the same time (at least
NEURALL_PASSWORD_RESET_RESPONSE_MS), and the rate limits count every request alike.
Whether an account has the address is looked up by the mail worker when the row is sent:
it issues the link then, or sends nothing. So the request is mail's own business, not a
domain event: recording one only for known addresses would tell them apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from neurall.accounts import links
from neurall.accounts.emails import normalize_email
from neurall.accounts.links import Purpose
from neurall.accounts.password_reset import ResetThrottle
from neurall.config import Settings
from neurall.mail import outbox
from neurall.mail.dispatch import MailDispatch
from neurall.orm.accounts import Account
from neurall.orm.mail import OutboxMessage

log = logging.getLogger(__name__)

RESET_KIND = "password_reset"


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
        # Sent well after this answer has left, so the sender's work (in this process when
        # the queue is embedded) lengthens no answer: half a response time later, which is
        # mid-way through the padding of a request sent right after this one. A delay of
        # just the response time fired as this answer was being written, and a known
        # address's lookup and mail then slowed it measurably.
        delay_ms = settings.password_reset_response_ms * 3 // 2
        await mail.dispatch([message_id], delay_ms=delay_ms)
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
