"""Delivery: retried while the SMTP server is down, the relay for lost sends, erasure and
retention of queued mail, and the embedded .eml default."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from neurall import clock
from neurall.app import SERVICES, create_app
from neurall.config import load_settings
from neurall.mail import outbox
from neurall.orm.accounts import Account
from neurall.orm.mail import Campaign, CampaignRecipient, EmailToken, OutboxMessage
from neurall.privacy.erasure import erase_account
from neurall.retention.sweeper import run_policies
from neurall.storage import make_storage
from neurall.workers.mail import MailQueue
from tests.support.factories import sign_up
from tests.support.graphql import PASSWORD, GraphQLClient
from tests.support.poll import until
from tests.support.smtp import SmtpServer, link_token, text_part

pytestmark = pytest.mark.usefixtures("database_url")

DELETE = """
mutation($password: String!) { deleteAccount(password: $password) { __typename } }
"""


async def _attempted() -> bool:
    row = await OutboxMessage.first()
    return row is not None and row.attempts >= 2 and row.claimed_until is None


async def test_retried_while_the_server_is_down_then_delivered(client, smtp: SmtpServer):
    smtp.stop()
    await sign_up(client, "ada@example.com")
    await until(
        _attempted, within=15, every=0.05, what="a delivery attempt"
    )  # failed twice, waiting for the next retry
    assert smtp.inbox.messages == []
    smtp.start()
    [message] = await smtp.inbox.wait_for("ada@example.com")
    assert link_token(message, "verify-email")
    await until(_no_rows, within=15, every=0.05, what="the outbox emptying")


async def _no_rows() -> bool:
    return not await OutboxMessage.exists()


async def test_erasure_deletes_queued_mail(client, smtp: SmtpServer):
    smtp.stop()
    await sign_up(client, "ada@example.com")
    await until(_attempted, within=15, every=0.05, what="a delivery attempt")
    data = await client.data(DELETE, {"password": PASSWORD})
    assert data["deleteAccount"]["__typename"] != "InvalidInput", data
    assert not await OutboxMessage.exists()
    assert not await EmailToken.exists()
    smtp.start()
    await asyncio.sleep(1.5)  # longer than the longest backoff: a retry would have sent it
    assert smtp.inbox.messages == []


async def test_the_relay_sends_rows_whose_send_was_lost(client, smtp: SmtpServer):
    account = await Account.create(email="ada@example.com", email_verified=True)
    # Queued, committed, and then the process died before its enqueue.
    message_id = await outbox.queue("notice.password_changed", account.email, account.id)
    mail = client.http.app[SERVICES].mail
    assert isinstance(mail, MailQueue)
    assert await mail.relay() == 0  # too recent: its own send may still be on the way
    await OutboxMessage.filter(id=message_id).update(created_at=clock.now() - timedelta(minutes=11))
    assert await mail.relay() == 1
    [message] = await smtp.inbox.wait_for("ada@example.com")
    assert "password was changed" in message["Subject"]


async def test_unsent_mail_is_deleted_after_seven_days(client, settings):
    account = await Account.create(email="ada@example.com")
    old = await outbox.queue("notice.password_changed", "ada@example.com", account.id)
    new = await outbox.queue("notice.password_changed", "ada@example.com", account.id)
    await OutboxMessage.filter(id=old).update(created_at=clock.now() - timedelta(days=7, hours=1))
    removed = await run_policies(settings, make_storage(settings))
    assert removed["unsent-mail"] == 1
    assert [r.id for r in await OutboxMessage.all()] == [new]


async def test_embedded_default_writes_eml_files_and_logs_no_link(
    aiohttp_client, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
):
    settings = load_settings(data_dir=tmp_path / "embedded", database_url=database_url)
    assert not settings.smtp_url.get_secret_value()
    client = GraphQLClient(await aiohttp_client(create_app(settings)))
    caplog.set_level(logging.INFO)
    await sign_up(client, "ada@example.com")

    async def files() -> list[Path]:
        return sorted(settings.outbox_dir.glob("*.eml"))

    [path] = await until(files, within=15, every=0.05, what="a message file")
    assert path.stat().st_mode & 0o077 == 0  # owner-only: it holds a link
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    token = link_token(message, "verify-email")  # type: ignore[arg-type]
    assert message["To"] == "ada@example.com"
    assert "Welcome to Neurall" in text_part(message)  # type: ignore[arg-type]
    await until(_no_rows, within=15, every=0.05, what="the outbox emptying")
    assert path.name in caplog.text
    assert token not in caplog.text
    assert "verify-email=" not in caplog.text


async def test_erasure_forgets_which_campaigns_the_account_was_sent(client):
    account = await Account.create(email="ada@example.com", email_verified=True)
    campaign = await Campaign.create(content_hash="0" * 64, subject="s", text_body="t")
    await CampaignRecipient.create(campaign=campaign, account=account)
    await erase_account(account, client.http.app[SERVICES].generation)
    assert not await CampaignRecipient.exists()
    assert await Campaign.exists()  # the campaign itself names nobody
