"""Notices: receipts, clone outcomes, low credits, new API keys, password changes; each class
can be switched off in the profile, security notices cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurall.app import SERVICES
from neurall.billing import ledger
from neurall.clones import training
from neurall.config import Settings, load_settings
from neurall.orm.accounts import Account
from neurall.orm.clones import Clone, CloneStatus
from tests.support.factories import sign_up
from tests.support.graphql import CREATE_KEY, GENERATE, PASSWORD, small_input
from tests.support.jobs import wait_done
from tests.support.smtp import SmtpServer, html_part, text_part
from tests.support.stripe import STRIPE_KEY, WEBHOOK_SECRET, StripeStub, event, signed

pytestmark = pytest.mark.usefixtures("database_url")

CHECKOUT = """
mutation($credits: Int!) { createCheckout(credits: $credits) { ... on Checkout { url } } }
"""
SWITCH = """
mutation($notice: EmailNotice!, $enabled: Boolean!) {
  setEmailNotice(notice: $notice, enabled: $enabled) {
    __typename ... on Account { emailNotices }
  }
}
"""
PROFILE = """mutation($t: Int) { updateProfile(input: {lowCreditThreshold: $t}) {
  __typename ... on Account { lowCreditThreshold } } }"""
CHANGE = """
mutation($new: String!) {
  changePassword(currentPassword: "correct horse battery staple", newPassword: $new) {
    __typename
  }
}
"""


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    smtp: SmtpServer,
    stripe_stub: StripeStub,
) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        smtp_url=smtp.url,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_stub.url,
    )


def _about(smtp: SmtpServer, words: str) -> list:  # type: ignore[type-arg]
    return [m for m in smtp.inbox.messages if words in m["Subject"]]


async def _pay(client, session_id: str, event_id: str) -> None:  # type: ignore[no-untyped-def]
    paid = {
        "id": session_id,
        "object": "checkout.session",
        "payment_status": "paid",
        "payment_intent": "pi_1",
        "amount_total": 500,
    }
    body, header = signed(event(event_id, "checkout.session.completed", paid))
    response = await client.http.post(
        "/webhooks/stripe",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
    )
    assert response.status == 200


async def test_a_receipt_once_per_credited_purchase(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    url = (await client.data(CHECKOUT, {"credits": 500}))["createCheckout"]["url"]
    session_id = url.rsplit("/", 1)[1]
    await _pay(client, session_id, "evt_1")
    await _pay(client, session_id, "evt_2")  # the same payment told twice
    messages = await smtp.inbox.wait_for("ada@example.com", 2)  # confirmation + receipt
    [receipt] = [m for m in messages if "receipt" in m["Subject"]]
    assert "500 credits were added" in text_part(receipt)
    assert "5.00 USD" in html_part(receipt)
    assert receipt["List-Unsubscribe"] is None


async def test_clone_outcomes_say_the_photos_are_deleted(client, smtp: SmtpServer):
    me = await sign_up(client, "ada@example.com")
    runtime = client.http.app[SERVICES].clones
    for name, status in (("good", CloneStatus.TRAINING), ("bad", CloneStatus.QUEUED)):
        clone = await Clone.create(
            account_id=me["id"],
            name=name,
            trigger_word=name,
            status=status,
            image_count=3,
            total_steps=1,
            held_credits=10,
        )
        await ledger.hold(clone.account_id, 10, clone.ledger_reference)  # type: ignore[attr-defined]
    await training._succeed((await Clone.get(name="good")).id, runtime)
    await training.fail_clone((await Clone.get(name="bad")).id, "broken", runtime)
    await smtp.inbox.wait_for("ada@example.com", 3)
    [ready] = _about(smtp, "clone is ready")
    [failed] = _about(smtp, "clone failed")
    assert '"good" is ready' in text_part(ready)
    assert '"bad" could not be trained' in text_part(failed)
    for message in (ready, failed):
        assert "photos you uploaded for it are deleted" in text_part(message)


async def test_low_credits_once_when_the_threshold_is_crossed(client, smtp: SmtpServer):
    await sign_up(client, "ada@example.com")
    await client.data(PROFILE, {"t": 99})  # 100 sign-up credits: the first hold crosses it
    for seed in (1, 2):  # the second hold starts below the threshold: no second notice
        job = (await client.data(GENERATE, {"input": small_input(seed=seed)}))["generate"]
        assert job["__typename"] == "Job"
        await wait_done(client, job["id"])
    messages = await smtp.inbox.wait_for("ada@example.com", 2)  # confirmation + notice
    [low] = _about(smtp, "running low")
    assert low in messages
    assert "below the 99 you asked to be told about" in text_part(low)
    assert low["List-Unsubscribe"] is None
    assert len(_about(smtp, "running low")) == 1


async def test_switched_off_classes_are_not_sent_security_notices_always_are(
    client, smtp: SmtpServer
):
    me = await sign_up(client, "ada@example.com")
    data = await client.data(SWITCH, {"notice": "CLONES", "enabled": False})
    assert data["setEmailNotice"]["emailNotices"] == ["RECEIPTS", "LOW_CREDITS"]
    await Account.filter(id=me["id"]).update(marketing_opt_in=False)  # irrelevant here
    runtime = client.http.app[SERVICES].clones
    clone = await Clone.create(
        account_id=me["id"], name="c", trigger_word="c", image_count=3, total_steps=1
    )
    await training.fail_clone(clone.id, "broken", runtime)

    secret = (await client.data(CREATE_KEY, {"name": "laptop", "scopes": None}))["createApiKey"][
        "secret"
    ]
    await client.data(CHANGE, {"new": "another long password"})
    messages = await smtp.inbox.wait_for("ada@example.com", 3)
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects == [
        "Neurall: a new API key was created",
        "Neurall: confirm your e-mail address",
        "Neurall: your password was changed",
    ]
    [key_notice] = _about(smtp, "API key")
    assert '"laptop"' in text_part(key_notice)
    assert secret not in text_part(key_notice)
    assert secret[:12] not in html_part(key_notice)
    assert PASSWORD not in str([text_part(m) for m in messages])

    data = await client.data(SWITCH, {"notice": "CLONES", "enabled": True})
    assert data["setEmailNotice"]["emailNotices"] == ["CLONES", "RECEIPTS", "LOW_CREDITS"]
