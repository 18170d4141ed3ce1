"""The account-security retention policies: sessions, audit events, rate-limit buckets,
e-mail links, unsent e-mail and the webhook delivery log. Each is one bulk delete with its
TTL and reason."""

from __future__ import annotations

from datetime import timedelta

from tortoise.expressions import Q

from neurall.audit import delete_expired_audit_events
from neurall.orm.accounts import Session
from neurall.orm.mail import EmailToken, OutboxMessage
from neurall.orm.webhooks import WebhookDelivery
from neurall.ratelimit_database import delete_idle_buckets
from neurall.retention.context import RetentionContext


async def expired_sessions(ctx: RetentionContext) -> int:
    """Sessions past their absolute expiry (NEURALL_SESSION_ABSOLUTE_TIMEOUT_S, 30 days) or
    unused for the idle timeout (NEURALL_SESSION_IDLE_TIMEOUT_S, 7 days). Such a session
    can no longer authenticate anything, so its row (a token hash tied to an account) has
    no purpose left."""
    idle_cutoff = ctx.now - timedelta(seconds=ctx.settings.session_idle_timeout_s)
    return await Session.filter(
        Q(expires_at__lte=ctx.now) | Q(last_seen_at__lt=idle_cutoff)
    ).delete()


async def audit_events(ctx: RetentionContext) -> int:
    """Audit events older than NEURALL_AUDIT_RETENTION_DAYS (365): long enough to
    investigate an account takeover found months later, no longer (they hold IPs)."""
    return await delete_expired_audit_events(ctx.now, ctx.settings.audit_retention_days)


async def idle_rate_limit_buckets(ctx: RetentionContext) -> int:
    """Shared rate-limit buckets (NEURALL_RATE_LIMIT_BACKEND=database) untouched for a
    day: every limit refills within an hour, so such a bucket is full, and a missing row
    means exactly that. Keeps the table the size of the recently active clients."""
    return await delete_idle_buckets(ctx.now.timestamp(), idle_s=86_400)


async def unsent_mail(ctx: RetentionContext) -> int:
    """Outbox rows still unsent NEURALL_MAIL_OUTBOX_RETENTION_DAYS (7) after they were
    queued: a week of retries is enough for any SMTP outage, and a confirmation, a reset
    link or a notice that late is useless, while the row names the recipient. Sent rows
    are deleted at once, so this is the longest any message waits in the database."""
    cutoff = ctx.now - timedelta(days=ctx.settings.mail_outbox_retention_days)
    return await OutboxMessage.filter(created_at__lt=cutoff).delete()


async def spent_email_links(ctx: RetentionContext) -> int:
    """E-mailed link tokens a day past their expiry (48 h for a confirmation, 1 h for a
    password reset), used or not: they can no longer do anything. The day is slack for
    clocks, not a promise."""
    return await EmailToken.filter(expires_at__lt=ctx.now - timedelta(days=1)).delete()


async def webhook_deliveries(ctx: RetentionContext) -> int:
    """Webhook delivery log rows older than NEURALL_WEBHOOK_DELIVERY_RETENTION_DAYS (30):
    the log is there to debug an integration now; older rows only record activity."""
    cutoff = ctx.now - timedelta(days=ctx.settings.webhook_delivery_retention_days)
    return await WebhookDelivery.filter(created_at__lt=cutoff).delete()
