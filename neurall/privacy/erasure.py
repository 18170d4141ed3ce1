"""Account erasure (``deleteAccount``): personal data goes, financial records stay anonymised.

Deleted: sessions, API keys, every job with its images (rows and files), clones with their
weights, usage logs, exports (rows and files), e-mail not yet sent, e-mailed links' tokens
and the record of which campaigns the account was sent. Kept: ledger entries, holds, purchases and
disputes, which the law requires, linked to the account row that remains but no longer
names anyone: its e-mail, name and password hash are cleared and ``erased_at`` is set, so
the same e-mail can sign up again. Audit events keep their event names and times but lose
their IP addresses and user agents; the erasure itself is recorded without either.
"""

from __future__ import annotations

import logging
from math import ceil

from tortoise.transactions import in_transaction

from neurall import audit
from neurall.accounts.service import AuthThrottle, verify_current_password
from neurall.clock import now
from neurall.clones.service import delete_all_clones
from neurall.errors import InvalidInputError, RateLimitedError
from neurall.generation.runtime import GenerationRuntime
from neurall.history.service import delete_jobs
from neurall.orm.accounts import Account, ApiKey, Session
from neurall.orm.audit import AuditEvent
from neurall.orm.billing import LedgerEntry
from neurall.orm.events import DomainEvent
from neurall.orm.jobs import Job
from neurall.orm.mail import CampaignRecipient, EmailToken, OutboxMessage
from neurall.orm.privacy import DataExport, UsageLog
from neurall.orm.webhooks import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

ERASED = "[erased]"


async def delete_account(
    account: Account, password: str, runtime: GenerationRuntime, throttle: AuthThrottle
) -> None:
    """Erase ``account`` after checking its password (InvalidInput when wrong; wrong
    guesses count against the log-in limit for the address)."""
    try:
        await verify_current_password(account, password, field="password", throttle=throttle)
    except RateLimitedError as exc:
        # The contract's DeleteAccountResult has no RateLimited member.
        raise InvalidInputError(
            f"Too many wrong passwords; try again in {ceil(exc.retry_after_s)} seconds.",
            ["password"],
        ) from None
    await erase_account(account, runtime)


async def erase_account(account: Account, runtime: GenerationRuntime) -> None:
    """Erase without a password check (operators; tests). Idempotent."""
    storage = runtime.storage
    # Webhooks before anything ends: no event of the erasure goes out, and the delivery
    # log (which names jobs) goes with its endpoints.
    await WebhookEndpoint.filter(account_id=account.id).delete()
    await WebhookDelivery.filter(account_id=account.id).delete()
    # Jobs first: cancelling active ones settles their credits before the rest goes.
    await delete_jobs(account, await Job.filter(account_id=account.id), runtime, storage)
    await delete_all_clones(account.id, storage, runtime.models)
    exports = await DataExport.filter(account_id=account.id).values_list("storage_key", flat=True)
    await storage.delete_many([key for key in exports if key])
    email, name = account.email, account.name
    async with in_transaction():
        await DataExport.filter(account_id=account.id).delete()
        await Session.filter(account_id=account.id).delete()
        await ApiKey.filter(account_id=account.id).delete()
        await UsageLog.filter(account_id=account.id).delete()
        # Nothing queued for the account goes out afterwards, and nothing it did (the
        # cancellations above included) is reacted to.
        await OutboxMessage.filter(account_id=account.id).delete()
        await DomainEvent.filter(account_id=account.id).delete()
        await EmailToken.filter(account_id=account.id).delete()
        await CampaignRecipient.filter(account_id=account.id).delete()
        await AuditEvent.filter(account_id=account.id).update(ip="", user_agent="")
        await _scrub_ledger_reasons(account, [v for v in (email, name) if v])
        await Account.filter(id=account.id).update(
            email=None,
            name=None,
            password_hash=None,
            pending_email=None,
            email_verified=False,
            marketing_opt_in=False,
            low_credit_threshold=None,
            erased_at=now(),
            updated_at=now(),
        )
    await audit.record(audit.AuditEventType.ACCOUNT_ERASED, account.id, "", "")
    log.info("account %s erased", account.id)


async def _scrub_ledger_reasons(account: Account, personal: list[str]) -> None:
    """Operators' free-text reasons may name the person: replace those words."""
    if not personal:
        return
    for entry in await LedgerEntry.filter(account_id=account.id, reason__isnull=False):
        reason = entry.reason or ""
        cleaned = reason
        for value in personal:
            cleaned = _replace_casefold(cleaned, value)
        if cleaned != reason:
            await LedgerEntry.filter(id=entry.id).update(reason=cleaned)


def _replace_casefold(text: str, value: str) -> str:
    lower, needle = text.lower(), value.lower()
    out, start = [], 0
    while (found := lower.find(needle, start)) >= 0:
        out.append(text[start:found])
        out.append(ERASED)
        start = found + len(needle)
    out.append(text[start:])
    return "".join(out)
