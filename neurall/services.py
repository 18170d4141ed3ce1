"""Everything a request handler, resolver or actor may need, built once at start.

``create_app`` fills this in through ``cleanup_ctx`` and puts it on the aiohttp app; tests
build one the same way. Nothing here connects at import time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from neurall.accounts.password_reset import ResetThrottle
from neurall.accounts.service import AuthThrottle
from neurall.accounts.verification import VerificationThrottle
from neurall.billing.payments import NoPayments, PaymentProvider, payment_provider
from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore
from neurall.config import Settings
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.catalog import Catalog, catalog_for
from neurall.mail.dispatch import MailDispatch, NoDispatch
from neurall.privacy.usage import UsageLogBuffer
from neurall.ratelimit import RateLimits, backend_factory
from neurall.secrets_at_rest import Keyring
from neurall.storage import Storage, make_storage
from neurall.webhooks.http import ResolverFactory


class MaintenanceQueue(Protocol):
    """What request handlers send to the maintenance actors (neurall.workers.maintenance)."""

    async def build_export(self, export_id: uuid.UUID) -> None: ...

    def sweep(self) -> None: ...


@dataclass
class Services:
    settings: Settings
    # The model catalog (NEURALL_MODELS_FILE, or the built-in models): read once here, so
    # a bad file stops the process at start (CatalogError, naming the entry and field).
    catalog: Catalog
    auth_throttle: AuthThrottle
    # Per-request and per-operation token buckets (neurall.ratelimit.RateLimits).
    rate_limits: RateLimits
    # Blob storage and trained adapters: built once here, shared by the runtimes below.
    storage: Storage
    models: ModelStore
    # requestPasswordReset per address and IP; requestEmailVerification per account. In
    # the buckets NEURALL_RATE_LIMIT_BACKEND names, like rate_limits.
    reset_throttle: ResetThrottle
    verification_throttle: VerificationThrottle
    # API-key usage rows, written in batches; started and closed by the app's cleanup_ctx.
    usage_log: UsageLogBuffer
    # Seals and opens the secrets stored in the database (webhook signing secrets).
    keyring: Keyring
    # Set by the app's cleanup_ctx (neurall.workers.embedded) once the queue is up.
    generation: GenerationRuntime | None = None
    # Set with it: the maintenance actors (data exports, retention sweeps).
    maintenance: MaintenanceQueue | None = None
    # Set with it: clone training's bus, temporary storage, model store and queue.
    clones: CloneRuntime | None = None
    # Stripe when configured, else NoPayments (createCheckout says BillingUnavailable).
    payments: PaymentProvider = field(default_factory=NoPayments)
    # Sends outbox rows after their transaction committed: the mail actor once the queue
    # is up (neurall.workers.embedded); until then rows wait for the relay.
    mail: MailDispatch = field(default_factory=NoDispatch)
    # The DNS resolver webhook deliveries connect through; None: the system's. Tests set
    # one they control, so no name is ever looked up outside the test.
    webhook_resolver: ResolverFactory | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        storage = make_storage(settings)
        # One choice of bucket store for every limit that must hold across API processes.
        buckets = backend_factory(settings)
        return cls(
            settings=settings,
            catalog=catalog_for(settings.models_file, settings.model),
            auth_throttle=AuthThrottle(
                failures_per_email=settings.login_failures_per_email,
                failures_per_ip=settings.login_failures_per_ip,
                failure_window_s=settings.login_failure_window_s,
                signups_per_ip_per_hour=settings.signups_per_ip_per_hour,
            ),
            payments=payment_provider(settings),
            reset_throttle=ResetThrottle(
                settings.password_resets_per_email_per_hour,
                settings.password_resets_per_ip_per_hour,
                buckets,
            ),
            verification_throttle=VerificationThrottle(
                settings.verification_emails_per_hour, buckets
            ),
            rate_limits=RateLimits(buckets, settings),
            storage=storage,
            models=ModelStore(storage),
            usage_log=UsageLogBuffer.from_settings(settings),
            keyring=Keyring.from_settings(settings),
        )
