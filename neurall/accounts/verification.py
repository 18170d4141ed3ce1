"""Confirming an address: at sign-up, on request, and when the address is changed.

The link goes to the address it confirms and works for NEURALL_EMAIL_VERIFICATION_TTL_S
(48 h). Used for the account's own address it sets ``email_verified``; used for the
``pending_email`` a profile change asked for, it makes that the account's address. Until
then the old address stays in force, so a typo or a stolen session cannot move the
account to an address its owner does not read.

The link's token is issued here and an event recorded; the mail subscriber
(neurall.subscribers.account_mail) sends the link, rendered from the token row's id.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from neurall import events
from neurall.accounts import links
from neurall.accounts.links import Purpose
from neurall.config import Settings
from neurall.errors import ForbiddenError, InvalidInputError
from neurall.orm.accounts import Account
from neurall.ratelimit import BackendFactory, RateLimit

_TAKEN = "This e-mail cannot be used."


class VerificationThrottle:
    """Confirmation e-mails asked for again, per account (each one costs a real e-mail).
    The buckets live where ``backend`` keeps them (neurall.ratelimit.backend_factory):
    shared by every API process on `database`."""

    def __init__(self, per_hour: int, backend: BackendFactory) -> None:
        self.by_account = RateLimit("verification", backend(per_hour, 3600))


def require_verified(account: Account, settings: Settings, action: str) -> None:
    """Forbidden for an unconfirmed address when NEURALL_REQUIRE_VERIFIED_EMAIL is on."""
    if settings.require_verified_email and not account.email_verified:
        raise ForbiddenError(
            f"Confirm your e-mail address before you {action}: open the link we e-mailed "
            "you, or ask for a new one with requestEmailVerification."
        )


async def issue_verification(account: Account, address: str, settings: Settings) -> None:
    """A confirmation link for ``address``, in the caller's transaction."""
    token = await links.issue(
        settings.secret_key.get_secret_value(),
        account.id,
        Purpose.VERIFY_EMAIL,
        address,
        settings.email_verification_ttl_s,
    )
    await events.record(
        events.EventType.EMAIL_VERIFICATION_ISSUED,
        subject_id=account.id,
        account_id=account.id,
        payload={"token_id": str(token.id), "change": address != account.email},
    )


async def request_verification(
    account: Account, settings: Settings, throttle: VerificationThrottle
) -> str:
    """Send the link again: to the pending address when there is one. Returns what the
    caller is told."""
    target = account.pending_email or (None if account.email_verified else account.email)
    if target is None:
        return "This address is already confirmed."
    await throttle.by_account.take(str(account.id))
    async with events.announcing(), in_transaction():
        await issue_verification(account, target, settings)
    return "A confirmation link is on its way."


async def verify_email(token: str, settings: Settings) -> tuple[Account, bool]:
    """Redeem a confirmation link (no session needed: holding the e-mail is the proof).
    Returns the account and whether its address changed."""
    row = await links.redeem(settings.secret_key.get_secret_value(), token, Purpose.VERIFY_EMAIL)
    account = await Account.get_or_none(id=row.account_id, erased_at__isnull=True)
    if account is None:
        raise InvalidInputError("This link is not valid.", ["token"])
    if row.email == account.email:
        account.email_verified = True
        await account.save(update_fields=["email_verified", "updated_at"])
        return account, False
    if row.email != account.pending_email:
        # The address was changed again since this link was sent.
        raise InvalidInputError("This link is for an address no longer asked for.", ["token"])
    account.email, account.pending_email, account.email_verified = row.email, None, True
    try:
        await account.save(update_fields=["email", "pending_email", "email_verified", "updated_at"])
    except IntegrityError:  # another account confirmed the same address first
        raise InvalidInputError(_TAKEN, ["token"]) from None
    return account, True


async def start_email_change(account: Account, new_email: str, settings: Settings) -> None:
    """In the caller's transaction: remember ``new_email`` as pending, send it a link and
    tell the current address (without a link) that a change was asked for. Asking for the
    current address again cancels a pending change."""
    if new_email == account.email:
        account.pending_email = None
        return
    if await Account.filter(email=new_email).exclude(id=account.id).exists():
        raise InvalidInputError(_TAKEN, ["input.email"])
    account.pending_email = new_email
    await issue_verification(account, new_email, settings)
    if account.email:
        await events.record(
            events.EventType.EMAIL_CHANGE_REQUESTED,
            subject_id=account.id,
            account_id=account.id,
            payload={"new_email": _masked(new_email)},
        )


def _masked(address: str) -> str:
    """Enough of the new address for its owner to recognise it, not to harvest it."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}…@{domain}"
