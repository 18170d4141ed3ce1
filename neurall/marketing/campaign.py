"""Sending a campaign (`neurall marketing send`): queue it for every verified, subscribed
account in batches, then send what was queued.

Each batch writes, in one transaction, a CampaignRecipient row and an outbox row per
account. A crash loses at most the batch being written (rolled back, so nobody in it was
recorded or sent anything); running the same command again finds the same campaign by its
content hash, sends what the crashed run left in the outbox, and queues only the accounts
with no CampaignRecipient row. Nobody gets the campaign twice, short of a crash in the
moment between the SMTP server taking a message and its row's deletion.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from neurall import clock
from neurall.mail import outbox
from neurall.mail.delivery import Mailer, Outcome
from neurall.mail.senders import SendError
from neurall.marketing.templates import MARKETING_KIND
from neurall.orm.accounts import Account
from neurall.orm.mail import Campaign, CampaignRecipient, OutboxMessage

log = logging.getLogger(__name__)

# SMTP conversations in flight at once; servers commonly limit connections per client.
SEND_CONCURRENCY = 4


@dataclass
class CampaignReport:
    campaign_id: uuid.UUID
    queued: int = 0
    sent: int = 0
    dropped: int = 0
    failed: int = 0  # left in the outbox for the mail relay


def content_hash(subject: str, text: str, html: str | None) -> str:
    digest = hashlib.sha256()
    for part in (subject, text, html or ""):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


async def campaign_for(subject: str, text: str, html: str | None) -> Campaign:
    """The campaign with this content: a new one, or the one a previous run started."""
    campaign, _ = await Campaign.get_or_create(
        content_hash=content_hash(subject, text, html),
        defaults={"subject": subject, "text_body": text, "html_body": html},
    )
    return campaign


async def queue_batch(campaign: Campaign, size: int) -> list[uuid.UUID]:
    """Queue the campaign for up to ``size`` accounts that have not had it."""
    already = Subquery(CampaignRecipient.filter(campaign_id=campaign.id).values("account_id"))
    accounts = (
        await Account.filter(
            email_verified=True,
            marketing_opt_in=True,
            erased_at__isnull=True,
            email__isnull=False,
        )
        .exclude(id__in=already)
        .order_by("id")
        .limit(size)
    )
    message_ids = []
    async with in_transaction():
        for account in accounts:
            await CampaignRecipient.create(campaign_id=campaign.id, account_id=account.id)
            message_ids.append(
                await outbox.queue(
                    MARKETING_KIND, account.email or "", account.id, campaign_id=campaign.id
                )
            )
    return message_ids


async def send_campaign(
    subject: str,
    text: str,
    html: str | None,
    *,
    mailer: Mailer,
    batch_size: int,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
) -> CampaignReport:
    """Queue and send the campaign; safe to run again after a crash (see above).
    ``after_batch`` (tests) runs after each batch is queued, before it is sent."""
    campaign = await campaign_for(subject, text, html)
    report = CampaignReport(campaign.id)
    left_over = await OutboxMessage.filter(campaign_id=campaign.id).values_list("id", flat=True)
    await _send(mailer, list(left_over), report)
    batch = 0
    while message_ids := await queue_batch(campaign, batch_size):
        report.queued += len(message_ids)
        batch += 1
        if after_batch is not None:
            await after_batch(batch)
        await _send(mailer, message_ids, report)
    await Campaign.filter(id=campaign.id).update(finished_at=clock.now())
    log.info(
        "campaign %s: %d queued, %d sent, %d dropped, %d left for retries",
        campaign.id,
        report.queued,
        report.sent,
        report.dropped,
        report.failed,
    )
    return report


async def _send(mailer: Mailer, message_ids: list[uuid.UUID], report: CampaignReport) -> None:
    """Send a batch, a few messages at a time (each is one SMTP conversation)."""
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(message_id: uuid.UUID) -> None:
        async with gate:
            try:
                outcome = await mailer.deliver(message_id)
            except SendError:
                report.failed += 1
                return
        if outcome is Outcome.SENT:
            report.sent += 1
        elif outcome is Outcome.DROPPED:
            report.dropped += 1

    async with asyncio.TaskGroup() as group:
        for message_id in message_ids:
            group.create_task(one(message_id))
