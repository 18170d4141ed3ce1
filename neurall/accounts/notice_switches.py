"""The classes of e-mail notices an account's owner can switch off in the profile.

Security notices (a password or address change, a new API key) have no switch: they are
how the owner learns of a takeover. The notices themselves are sent by the mail package
(neurall.mail.notices), which asks these switches when it reacts to an event.
"""

from __future__ import annotations

from enum import StrEnum

from neurall.orm.accounts import Account


class NoticeClass(StrEnum):
    """What the profile can switch off."""

    CLONES = "CLONES"
    RECEIPTS = "RECEIPTS"
    LOW_CREDITS = "LOW_CREDITS"


def switched_off(account: Account) -> frozenset[NoticeClass]:
    return frozenset(NoticeClass(word) for word in account.notices_off.split())


def with_class(account: Account, notice_class: NoticeClass, enabled: bool) -> str:
    """The account's new ``notices_off`` value."""
    off = set(switched_off(account))
    (off.discard if enabled else off.add)(notice_class)
    return " ".join(sorted(off))
