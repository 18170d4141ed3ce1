"""The marketing message: the campaign's text (and HTML), the unsubscribe link in the body
and in the RFC 8058 headers. Rendered when sent, so an account that opted out or was
erased since the campaign was queued gets nothing."""

from __future__ import annotations

from neurall.accounts.unsubscribe import unsubscribe_url
from neurall.config import Settings
from neurall.mail.delivery import Template
from neurall.mail.message import Rendered
from neurall.orm.accounts import Account
from neurall.orm.mail import Campaign, OutboxMessage

MARKETING_KIND = "marketing"


async def _render(row: OutboxMessage, settings: Settings) -> Rendered | None:
    campaign = await Campaign.get_or_none(id=row.campaign_id)
    account = await Account.get_or_none(id=row.account_id)
    if (
        campaign is None
        or account is None
        or account.erased_at is not None
        or not account.marketing_opt_in
        or account.email != row.to_address
    ):
        return None
    url = unsubscribe_url(settings.public_url, settings.secret_key.get_secret_value(), account.id)
    return Rendered(
        campaign.subject,
        [part.strip() for part in campaign.text_body.split("\n\n") if part.strip()],
        footer=[f"Unsubscribe from {settings.product_name}'s news with one click: {url}"],
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        html_body=campaign.html_body,
    )


TEMPLATES: dict[str, Template] = {MARKETING_KIND: _render}
