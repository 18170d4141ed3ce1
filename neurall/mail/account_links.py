"""The account e-mails that carry a link: confirming an address, resetting a password.

Rendered when sent, from the token row's id (the outbox never holds a token). The links
open the playground, whose page reads the token from the URL's fragment and calls
``verifyEmail`` or ``resetPassword``; a fragment never reaches a server's logs or another
site's Referer header.
"""

from __future__ import annotations

import uuid

from neurall.accounts.links import Purpose, link_token
from neurall.config import Settings
from neurall.mail.delivery import Template
from neurall.mail.message import Link, Rendered
from neurall.mail.reset_request import RESET_KIND, issue_reset_link
from neurall.orm.mail import OutboxMessage

VERIFY_KIND = "verify_email"


def _link(settings: Settings, fragment: str, purpose: Purpose, token_id: uuid.UUID) -> str:
    token = link_token(settings.secret_key.get_secret_value(), purpose, token_id)
    return f"{settings.public_url}/#{fragment}={token}"


async def _verify(row: OutboxMessage, settings: Settings) -> Rendered:
    hours = settings.email_verification_ttl_s // 3600
    if row.params.get("change"):
        intro = "Confirm this address to make it the e-mail address of your account."
    else:
        intro = f"Welcome to {settings.product_name}! Confirm your e-mail address."
    return Rendered(
        "confirm your e-mail address",
        [intro, f"The link works for {hours} hours. If you did not ask for it, ignore this."],
        Link(
            "Confirm your address",
            _link(
                settings,
                "verify-email",
                Purpose.VERIFY_EMAIL,
                uuid.UUID(str(row.params["token_id"])),
            ),
        ),
    )


async def _reset(row: OutboxMessage, settings: Settings) -> Rendered | None:
    token_id = await issue_reset_link(row, settings)
    if token_id is None:
        return None  # no account has the address
    minutes = settings.password_reset_ttl_s // 60
    return Rendered(
        "reset your password",
        [
            "Someone asked to reset the password of your account.",
            f"The link works once, for {minutes} minutes. If you did not ask for it, "
            "ignore this: your password stays as it is.",
        ],
        Link(
            "Choose a new password",
            _link(settings, "reset-password", Purpose.RESET_PASSWORD, token_id),
        ),
    )


TEMPLATES: dict[str, Template] = {VERIFY_KIND: _verify, RESET_KIND: _reset}
