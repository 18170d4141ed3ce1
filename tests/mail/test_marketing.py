"""Marketing campaigns: only verified, subscribed accounts; RFC 8058 one-click headers
that work; a crash mid-campaign and a rerun send nobody the campaign twice; transactional
mail ignores the opt-out."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from neurall import clock
from neurall.config import Settings
from neurall.marketing.campaign import send_campaign
from neurall.orm.accounts import Account
from neurall.orm.mail import CampaignRecipient, OutboxMessage
from neurall.workers.mail import build_mailer
from tests.support.smtp import SmtpServer, html_part, text_part

pytestmark = pytest.mark.usefixtures("database_url")

SUBJECT = "New: inpainting"
TEXT = "Paint over part of an image and describe what goes there.\n\nTry it today."
HTML = "<p>Paint over part of an image.</p>"
RESET = 'mutation { requestPasswordReset(email: "optedout@example.com") { __typename } }'


async def _audience() -> dict[str, Account]:
    return {
        "a": await Account.create(email="a@example.com", email_verified=True),
        "b": await Account.create(email="b@example.com", email_verified=True),
        "c": await Account.create(email="c@example.com", email_verified=True),
        "optedout": await Account.create(
            email="optedout@example.com", email_verified=True, marketing_opt_in=False
        ),
        "unverified": await Account.create(email="unverified@example.com"),
        "erased": await Account.create(email=None, email_verified=True, erased_at=clock.now()),
    }


def _campaign_mail(smtp: SmtpServer) -> list:  # type: ignore[type-arg]
    return [m for m in smtp.inbox.messages if m["Subject"] == f"Neurall: {SUBJECT}"]


async def test_only_verified_subscribers_get_it_with_working_one_click(
    client, smtp: SmtpServer, settings: Settings
):
    await _audience()
    report = await send_campaign(SUBJECT, TEXT, HTML, mailer=build_mailer(settings), batch_size=2)
    assert (report.queued, report.sent, report.failed) == (3, 3, 0)
    messages = _campaign_mail(smtp)
    assert sorted(m["To"] for m in messages) == ["a@example.com", "b@example.com", "c@example.com"]
    assert not await OutboxMessage.exists()

    message = next(m for m in messages if m["To"] == "a@example.com")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"]
    assert header.startswith("<")
    assert header.endswith(">")
    url = header[1:-1]
    assert url.startswith(f"{settings.public_url}/unsubscribe?token=")
    assert url in text_part(message)
    assert "Try it today." in text_part(message)
    assert "Paint over part of an image.</p>" in html_part(message)

    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the URL.
    parts = urlsplit(url)
    response = await client.http.post(
        f"{parts.path}?{parts.query}",
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    assert (await Account.get(email="a@example.com")).marketing_opt_in is False
    assert (await Account.get(email="b@example.com")).marketing_opt_in is True

    # Transactional mail is never suppressed by the opt-out.
    assert (await client.data(RESET))["requestPasswordReset"]["__typename"] == "Accepted"
    [reset] = await smtp.inbox.wait_for("optedout@example.com")
    assert "reset" in reset["Subject"]
    assert reset["List-Unsubscribe"] is None


class Crash(Exception):
    pass


async def test_a_crash_mid_campaign_and_a_rerun_send_nobody_twice(
    client, smtp: SmtpServer, settings: Settings, database_url: str, tmp_path: Path
):
    await _audience()
    for n in range(4):
        await Account.create(email=f"more{n}@example.com", email_verified=True)

    async def crash_on_second_batch(batch: int) -> None:
        if batch == 2:  # queued, not sent yet: the process dies here
            raise Crash

    with pytest.raises(Crash):
        await send_campaign(
            SUBJECT,
            TEXT,
            HTML,
            mailer=build_mailer(settings),
            batch_size=2,
            after_batch=crash_on_second_batch,
        )
    assert len(_campaign_mail(smtp)) == 2
    assert await OutboxMessage.filter(kind="marketing").count() == 2
    sent_before = {m["To"] for m in _campaign_mail(smtp)}
    # An account queued by the crashed run that opts out in between gets nothing.
    pending = await OutboxMessage.filter(kind="marketing").first()
    assert pending is not None
    await Account.filter(id=pending.account_id).update(marketing_opt_in=False)

    # The same command again, as a real `neurall marketing send` process.
    (tmp_path / "body.txt").write_text(TEXT)
    (tmp_path / "body.html").write_text(HTML)
    env = {
        **os.environ,
        "NEURALL_DATA_DIR": str(settings.data_dir),
        "NEURALL_DATABASE_URL": database_url,
        "NEURALL_SMTP_URL": smtp.url,
        "NEURALL_MARKETING_BATCH_SIZE": "2",
    }
    command = [sys.executable, "-m", "neurall.cli", "marketing", "send", "--subject", SUBJECT]
    files = ["--text-file", str(tmp_path / "body.txt"), "--html-file", str(tmp_path / "body.html")]
    for _ in range(2):  # and once more after it finished: nothing new
        result = await asyncio.to_thread(
            subprocess.run,
            [*command, *files],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]

    counts = Counter(m["To"] for m in _campaign_mail(smtp))
    assert set(counts.values()) == {1}, counts
    subscribers = {
        a.email for a in await Account.filter(email_verified=True, email__isnull=False)
    } - {
        "optedout@example.com",
        pending.to_address,
    }
    assert len(subscribers) == 6
    assert set(counts) == subscribers
    assert sent_before < subscribers
    assert await CampaignRecipient.all().count() == 7  # with the one queued, then dropped
    assert not await OutboxMessage.exists()
