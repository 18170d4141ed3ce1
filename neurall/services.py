"""Everything a request handler, resolver or actor may need, built once at start.

``create_app`` fills this in through ``cleanup_ctx`` and puts it on the aiohttp app; tests
build one the same way. Nothing here connects at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neurall.accounts.service import AuthThrottle
from neurall.billing.payments import NoPayments, PaymentProvider, payment_provider
from neurall.config import Settings
from neurall.privacy.usage import UsageLogBuffer
from neurall.ratelimit import RateLimits

if TYPE_CHECKING:
    from neurall.clones.runtime import CloneRuntime
    from neurall.workers.maintenance import MaintenanceQueue
    from neurall.workers.runtime import GenerationRuntime


@dataclass
class Services:
    settings: Settings
    auth_throttle: AuthThrottle
    # Per-request and per-operation token buckets (neurall.ratelimit.RateLimits).
    rate_limits: RateLimits
    # API-key usage rows, written in batches; started and closed by the app's cleanup_ctx.
    usage_log: UsageLogBuffer
    # Set by the app's cleanup_ctx (neurall.workers.embedded) once the queue is up.
    generation: GenerationRuntime | None = None
    # Set with it: the maintenance actors (data exports, retention sweeps).
    maintenance: MaintenanceQueue | None = None
    # Set with it: clone training's bus, temporary storage, model store and queue.
    clones: CloneRuntime | None = None
    # Stripe when configured, else NoPayments (createCheckout says BillingUnavailable).
    payments: PaymentProvider = field(default_factory=NoPayments)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            auth_throttle=AuthThrottle(
                failures_per_email=settings.login_failures_per_email,
                failures_per_ip=settings.login_failures_per_ip,
                failure_window_s=settings.login_failure_window_s,
                signups_per_ip_per_hour=settings.signups_per_ip_per_hour,
            ),
            payments=payment_provider(settings),
            rate_limits=RateLimits.from_settings(settings),
            usage_log=UsageLogBuffer.from_settings(settings),
        )
