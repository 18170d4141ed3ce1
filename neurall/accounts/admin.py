"""Operator actions on an account found by e-mail (the ``neurall credits`` commands)."""

from __future__ import annotations

import uuid

from neurall.accounts.emails import normalize_email
from neurall.billing import ledger
from neurall.errors import InvalidInputError, NotFoundError
from neurall.orm.accounts import Account

MAX_GRANT = 10_000_000
MAX_REASON = 500


async def grant_by_email(
    email: str, amount: int, reason: str, reference: str | None = None
) -> tuple[Account, bool]:
    """Grant ``amount`` credits to the account with this e-mail. Each call is a new grant
    unless ``reference`` names one already made (then nothing changes and the second
    value is False). Returns the account with its new balance."""
    if not 0 < amount <= MAX_GRANT:
        raise InvalidInputError(f"Grant between 1 and {MAX_GRANT} credits.", ["amount"])
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInputError(f"Give a reason of 1 to {MAX_REASON} characters.", ["reason"])
    account = await Account.filter(email=normalize_email(email, field="email")).first()
    if account is None or account.erased_at is not None:
        raise NotFoundError("No account has this e-mail.")
    applied = await ledger.grant(account.id, amount, reason, reference or f"admin:{uuid.uuid4()}")
    await account.refresh_from_db(fields=["balance", "held"])
    return account, applied
