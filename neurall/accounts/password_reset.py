"""Resetting a forgotten password through a link e-mailed to the account's address.

Asking never tells whether an account has the address (neurall.mail.reset_request: the
request is mail's own, the same for every address, and issues the link only when sent).

The link works once, for NEURALL_PASSWORD_RESET_TTL_S (1 h). Using it sets the new
password, ends every session (whoever knew the old password is out), and confirms the
address (the link proved it).
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from neurall import events
from neurall.accounts import links
from neurall.accounts.links import Purpose
from neurall.accounts.passwords import hash_password, validate_password
from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.orm.accounts import Account, Session
from neurall.ratelimit import BackendFactory, RateLimit


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


async def reset_password(token: str, new_password: str, *, settings: Settings) -> Account:
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
    async with events.announcing(), in_transaction():
        await account.save(update_fields=["password_hash", "email_verified", "updated_at"])
        await Session.filter(account_id=account.id).delete()
        await links.retire(account.id, Purpose.RESET_PASSWORD)
        await events.record(
            events.EventType.PASSWORD_CHANGED, subject_id=account.id, account_id=account.id
        )
    return account
