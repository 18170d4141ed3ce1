"""Notices: short transactional e-mails about something that happened to the account.

Each belongs to a class the user can switch off in the profile
(neurall.accounts.notice_switches), except security notices (a password or address
change, a new API key), which always go out: they are how the owner learns of a
takeover. They are queued by the notice subscriber (neurall.subscribers.notices). Notices
are never suppressed by the marketing opt-out and never carry unsubscribe headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum

from neurall.accounts.notice_switches import NoticeClass, switched_off
from neurall.config import Settings
from neurall.mail import outbox
from neurall.mail.message import Link, Rendered
from neurall.orm.accounts import Account
from neurall.orm.mail import OutboxMessage

KIND_PREFIX = "notice."


class Notice(StrEnum):
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a notice name
    API_KEY_CREATED = "api_key_created"
    CLONE_READY = "clone_ready"
    CLONE_FAILED = "clone_failed"
    RECEIPT = "receipt"
    LOW_CREDITS = "low_credits"


# None: a security notice, always sent.
NOTICE_CLASS: dict[Notice, NoticeClass | None] = {
    Notice.EMAIL_CHANGE_REQUESTED: None,
    Notice.PASSWORD_CHANGED: None,
    Notice.API_KEY_CREATED: None,
    Notice.CLONE_READY: NoticeClass.CLONES,
    Notice.CLONE_FAILED: NoticeClass.CLONES,
    Notice.RECEIPT: NoticeClass.RECEIPTS,
    Notice.LOW_CREDITS: NoticeClass.LOW_CREDITS,
}


async def queue(
    account: Account, notice: Notice, params: Mapping[str, object] | None = None
) -> uuid.UUID | None:
    """Queue ``notice`` for the account (in the caller's transaction), unless its class is
    switched off or the account has no address (erased)."""
    notice_class = NOTICE_CLASS[notice]
    if account.email is None or (
        notice_class is not None and notice_class in switched_off(account)
    ):
        return None
    return await outbox.queue(KIND_PREFIX + notice.value, account.email, account.id, params)


def _settings_link(settings: Settings) -> Link:
    return Link("Your account", f"{settings.public_url}/")


async def _render(row: OutboxMessage, settings: Settings) -> Rendered:
    notice = Notice(row.kind.removeprefix(KIND_PREFIX))
    p = row.params
    match notice:
        case Notice.EMAIL_CHANGE_REQUESTED:
            return Rendered(
                "your e-mail address is being changed",
                [
                    f"Someone signed in to your account asked to change its e-mail address to "
                    f"{p.get('new_email', 'another address')}. Nothing changes until the link "
                    "sent to that address is opened.",
                    "If this was not you, change your password now: that also signs out "
                    "every other session.",
                ],
            )
        case Notice.PASSWORD_CHANGED:
            return Rendered(
                "your password was changed",
                [
                    "The password of your account was just changed, and every other session "
                    "was signed out.",
                    "If this was not you, reset your password at once and review your API keys.",
                ],
                _settings_link(settings),
            )
        case Notice.API_KEY_CREATED:
            return Rendered(
                "a new API key was created",
                [
                    f'A new API key named "{p.get("name", "")}" was created for your account.',
                    "If this was not you, revoke it and change your password.",
                ],
                _settings_link(settings),
            )
        case Notice.CLONE_READY | Notice.CLONE_FAILED:
            ready = notice is Notice.CLONE_READY
            outcome = "is ready to use" if ready else "could not be trained"
            return Rendered(
                f"your clone {'is ready' if ready else 'failed'}",
                [
                    f'Your clone "{p.get("name", "")}" {outcome}.',
                    "The photos you uploaded for it are deleted now that training has ended, "
                    "whatever the outcome." + ("" if ready else " Upload them again to retry."),
                ],
                _settings_link(settings),
            )
        case Notice.RECEIPT:
            amount = int(str(p.get("amount_cents", 0))) / 100
            return Rendered(
                "receipt for your credits",
                [
                    f"{p.get('credits')} credits were added to your account.",
                    f"Amount paid: {amount:.2f} {str(p.get('currency', '')).upper()}. "
                    f"Reference: {p.get('reference', '')}.",
                ],
                _settings_link(settings),
            )
        case Notice.LOW_CREDITS:
            return Rendered(
                "your credits are running low",
                [
                    f"Your account has {p.get('credits')} credits left, below the "
                    f"{p.get('threshold')} you asked to be told about.",
                ],
                _settings_link(settings),
            )
    raise ValueError(f"unknown notice {notice}")


TEMPLATES = {KIND_PREFIX + notice.value: _render for notice in Notice}
