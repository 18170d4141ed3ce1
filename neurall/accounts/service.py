"""Signing up, logging in and changing a profile."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from neurall import audit, events
from neurall.accounts import notice_switches
from neurall.accounts.emails import normalize_email
from neurall.accounts.passwords import (
    hash_password,
    needs_rehash,
    validate_password,
    verify_password,
)
from neurall.accounts.verification import issue_verification, start_email_change
from neurall.billing import ledger
from neurall.config import Settings
from neurall.errors import ConflictError, InvalidInputError, NotAuthenticatedError
from neurall.orm.accounts import Account, Session
from neurall.ratelimit import TokenBuckets

MAX_NAME_LENGTH = 200
_LOGIN_FAILED = "Wrong e-mail or password."


class AuthThrottle:
    """Limits on authentication attempts: failed logins per e-mail and per IP, sign-ups
    per IP. A successful login does not reset the counters, so interleaving a known
    password cannot be used to keep guessing another."""

    def __init__(
        self,
        failures_per_email: int,
        failures_per_ip: int,
        failure_window_s: float,
        signups_per_ip_per_hour: int,
    ) -> None:
        self.failures_by_email = TokenBuckets(failures_per_email, failure_window_s)
        self.failures_by_ip = TokenBuckets(failures_per_ip, failure_window_s)
        self.signups_by_ip = TokenBuckets(signups_per_ip_per_hour, 3600)


def clean_name(name: str | None, field: str = "input.name") -> str | None:
    if name is None:
        return None
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"Names are at most {MAX_NAME_LENGTH} characters.", [field])
    return name or None


async def sign_up(
    email: str,
    password: str,
    name: str | None,
    *,
    ip: str,
    throttle: AuthThrottle,
    settings: Settings,
    user_agent: str = "",
) -> Account:
    """A new account; NEURALL_SIGNUP_GRANT_CREDITS free credits are granted and the
    address confirmation link queued in the same transaction."""
    normalized = normalize_email(email)
    validate_password(password)
    display_name = clean_name(name)
    throttle.signups_by_ip.take(ip)
    if await Account.filter(email=normalized).exists():
        raise ConflictError("An account with this e-mail already exists.")
    password_hash = await hash_password(password)
    try:
        async with events.announcing(), in_transaction():
            account = await Account.create(
                email=normalized, name=display_name, password_hash=password_hash
            )
            grant = settings.signup_grant_credits
            if grant > 0:
                await ledger.grant(account.id, grant, "sign-up", f"signup:{account.id}")
                await account.refresh_from_db(fields=["balance", "held"])
            await issue_verification(account, normalized, settings)
    except IntegrityError:  # lost a race with a concurrent sign-up for the same address
        raise ConflictError("An account with this e-mail already exists.") from None
    await audit.record(audit.AuditEventType.SIGN_UP, account.id, ip, user_agent)
    return account


async def log_in(
    email: str, password: str, *, ip: str, throttle: AuthThrottle, user_agent: str = ""
) -> Account:
    """The account for these credentials. Failures say the same thing whether the e-mail
    is unknown or the password wrong, and take the same time."""
    try:
        normalized = normalize_email(email, field="email")
    except InvalidInputError:
        normalized = email.strip().lower()[:320]
    throttle.failures_by_email.check(normalized)
    throttle.failures_by_ip.check(ip)
    account = await Account.filter(email=normalized).first()
    ok = await verify_password(account.password_hash if account else None, password)
    if account is None or not ok:
        throttle.failures_by_email.take(normalized)
        throttle.failures_by_ip.take(ip)
        # The typed address is not stored: only the account it belongs to, if any.
        await audit.record(
            audit.AuditEventType.LOG_IN_FAILED,
            account.id if account else None,
            ip,
            user_agent,
            reason="wrong_password" if account else "unknown_account",
        )
        raise NotAuthenticatedError(_LOGIN_FAILED)
    if account.password_hash and needs_rehash(account.password_hash):
        account.password_hash = await hash_password(password)
        await account.save(update_fields=["password_hash"])
    await audit.record(audit.AuditEventType.LOG_IN, account.id, ip, user_agent)
    return account


async def update_profile(
    account: Account,
    email: str | None,
    name: str | None,
    *,
    settings: Settings,
) -> Account:
    """Correct the name at once; a new e-mail becomes ``pending_email`` until the link
    sent to it is used (neurall.accounts.verification). Fields left out stay as they are."""
    # Both inputs are checked before anything changes.
    normalized = normalize_email(email) if email is not None else None
    display_name = clean_name(name)
    updates: list[str] = []
    async with events.announcing(), in_transaction():
        if normalized is not None and normalized != (account.pending_email or account.email):
            await start_email_change(account, normalized, settings)
            updates.append("pending_email")
        if name is not None:
            account.name = display_name
            updates.append("name")
        if updates:
            await account.save(update_fields=[*updates, "updated_at"])
    return account


async def set_notice(
    account: Account, notice_class: notice_switches.NoticeClass, enabled: bool
) -> Account:
    """Switch one class of notices on or off (security notices have no switch)."""
    account.notices_off = notice_switches.with_class(account, notice_class, enabled)
    await account.save(update_fields=["notices_off", "updated_at"])
    return account


MAX_LOW_CREDIT_THRESHOLD = 1_000_000_000


async def set_low_credit_threshold(account: Account, threshold: int | None) -> Account:
    """Credits below which the account's CREDITS_LOW webhooks fire; None: never."""
    if threshold is not None and not 0 <= threshold <= MAX_LOW_CREDIT_THRESHOLD:
        raise InvalidInputError(
            f"The threshold is 0 to {MAX_LOW_CREDIT_THRESHOLD} credits.",
            ["input.lowCreditThreshold"],
        )
    account.low_credit_threshold = threshold
    await account.save(update_fields=["low_credit_threshold", "updated_at"])
    return account


async def set_marketing_opt_in(account: Account, opt_in: bool) -> Account:
    account.marketing_opt_in = opt_in
    await account.save(update_fields=["marketing_opt_in", "updated_at"])
    return account


async def verify_current_password(
    account: Account, password: str, *, field: str, throttle: AuthThrottle
) -> None:
    """Re-authentication for sensitive changes. Wrong guesses count against the same
    per-address limit as failed log-ins, so a stolen session cannot be used to guess the
    password faster than the log-in form allows."""
    bucket_key = account.email or str(account.id)
    throttle.failures_by_email.check(bucket_key)
    if not await verify_password(account.password_hash, password):
        throttle.failures_by_email.take(bucket_key)
        raise InvalidInputError("The current password is wrong.", [field])


async def change_password(
    account: Account,
    current_password: str,
    new_password: str,
    *,
    throttle: AuthThrottle,
    keep_session: Session | None,
) -> Account:
    """Set a new password and end every other session of the account (a thief signed in
    elsewhere is signed out); ``keep_session``, the one making the change, stays."""
    validate_password(new_password, field="newPassword")
    await verify_current_password(
        account, current_password, field="currentPassword", throttle=throttle
    )
    if new_password == current_password:
        raise InvalidInputError(
            "The new password is the one you use now: choose another.", ["newPassword"]
        )
    account.password_hash = await hash_password(new_password)
    async with events.announcing(), in_transaction():
        await account.save(update_fields=["password_hash", "updated_at"])
        others = Session.filter(account_id=account.id)
        if keep_session is not None:
            others = others.exclude(id=keep_session.id)
        await others.delete()
        await events.record(
            events.EventType.PASSWORD_CHANGED, subject_id=account.id, account_id=account.id
        )
    return account
