"""Settings: every knob is a ``NEURALL_*`` environment variable, read once at start.

``load_settings()`` is called by the CLI; the resulting object is passed down to whatever
needs it. Nothing reads the environment anywhere else, and nothing connects at import time.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class SettingsError(Exception):
    """A setting has an invalid value; the message names the environment variable."""


PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class Settings(BaseSettings):
    """The whole configuration. The README's configuration table lists every field."""

    model_config = SettingsConfigDict(env_prefix="NEURALL_", frozen=True, extra="ignore")

    data_dir: Path = Path("./neurall-data")
    database_url: str = ""
    broker_url: str = ""
    inference_url: str = "embedded"
    model: str = "tiny"
    secret_key: SecretStr = SecretStr("")
    production: bool = False
    public_url: str = "http://127.0.0.1:8000"

    # Sessions.
    session_idle_timeout_s: PositiveInt = 7 * 24 * 3600
    session_absolute_timeout_s: PositiveInt = 30 * 24 * 3600
    insecure_localhost_cookies: bool = True

    # Abuse limits on authentication.
    login_failures_per_email: PositiveInt = 5
    login_failures_per_ip: PositiveInt = 20
    login_failure_window_s: PositiveInt = 15 * 60
    signups_per_ip_per_hour: PositiveInt = 20

    # GraphQL limits.
    graphql_max_depth: PositiveInt = 10
    graphql_max_aliases: PositiveInt = 15
    graphql_max_tokens: PositiveInt = 2000

    # Security hardening (neurall/web/csrf.py, cors.py, neurall/graphql/view.py, README).
    # Comma-separated origins (scheme://host[:port]) trusted besides public_url's own:
    # CORS with credentials, cookie-authenticated POSTs and websockets.
    cors_origins: str = ""
    ws_connection_init_timeout_s: PositiveInt = 10
    ws_max_subscriptions: PositiveInt = 20
    ws_max_message_bytes: PositiveInt = 64 * 1024
    # Bodies other than multipart uploads (GraphQL JSON, webhooks, forms); larger ones get 413.
    max_request_body_bytes: PositiveInt = 1024 * 1024
    # Where the token buckets live: "memory" (each API process has its own; the embedded
    # default) or "database" (shared by every API process on the same database).
    rate_limit_backend: Literal["memory", "database"] = "memory"
    requests_per_minute_per_api_key: PositiveInt = 600
    requests_per_minute_per_account: PositiveInt = 1200
    generates_per_minute_per_account: PositiveInt = 60
    clones_per_hour_per_account: PositiveInt = 10
    # Jobs one account may have queued or running at once; more get RateLimited, so one
    # client cannot fill the queue ahead of everyone else.
    max_active_jobs_per_account: PositiveInt = 16
    audit_retention_days: PositiveInt = 365

    # Credits and billing (neurall/billing/).
    signup_grant_credits: NonNegativeInt = 100
    credit_pixel_steps: PositiveInt = 512 * 512 * 20  # pixels x steps per credit
    clone_price_percent: Annotated[int, Field(ge=100)] = 150
    training_image_steps_per_credit: PositiveInt = 200
    # Stripe Checkout: billing is off (BillingUnavailable) unless both secrets are set.
    stripe_secret_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str = ""  # empty: Stripe's own API; tests point it at a stand-in
    credit_price_cents: PositiveInt = 1
    credit_currency: str = "usd"
    checkout_min_credits: PositiveInt = 100
    checkout_max_credits: PositiveInt = 100_000
    checkout_success_url: str = ""  # empty: {public_url}/?checkout=success
    checkout_cancel_url: str = ""  # empty: {public_url}/?checkout=cancel

    # Generation (neurall/generation/, neurall/workers/, neurall/gpu/).
    # Default width and height; 0 means the model's native size (64 tiny, 512 otherwise).
    default_image_size: NonNegativeInt = 0
    max_image_side: PositiveInt = 1024
    generation_max_retries: NonNegativeInt = 5
    generation_min_backoff_ms: PositiveInt = 2000
    generation_max_backoff_ms: PositiveInt = 60_000
    # Below RabbitMQ's consumer_timeout (30 min by default), or RabbitMQ closes the channel.
    generation_time_limit_s: PositiveInt = 20 * 60
    inference_timeout_s: PositiveInt = 600
    embedded_worker_threads: PositiveInt = 2
    # How long an embedded pipeline that is free waits for another companion of a partial
    # batch, counted from the newest (neurall/gpu/batching.py). 0: start at once.
    embedded_batch_window_ms: NonNegativeInt = 0
    # Where the embedded pipeline writes its batching counters after every call (as
    # `neurall gpu --stats-file`); unset: nowhere.
    embedded_stats_file: Path | None = None
    # Jobs one `neurall worker` runs at once. They mostly wait on Triton, so threads are
    # cheap; keep it at least twice Triton's max batch size (8), or the batcher never sees
    # a full batch: with 8, the benchmark's pipeline calls settled into batches of 1 and 7.
    worker_threads: PositiveInt = 16
    # API results are discarded this long after they are made (privacy promise: 15 min).
    api_image_ttl_s: PositiveInt = 15 * 60
    # How long an API job's private request may wait in RabbitMQ before it is dropped.
    api_payload_ttl_s: PositiveInt = 3600
    # Progress path (neurall/generation/progress.py): a PREVIEW event every N denoising
    # steps (0: none), and how often a running job's step is written to the database
    # (events go out every step regardless; a cancel is noticed within this interval).
    preview_every_steps: NonNegativeInt = 5
    progress_write_interval_ms: NonNegativeInt = 250

    # AI cloning (neurall/clones/, README "AI cloning").
    clone_default_training_steps: PositiveInt = 400
    clone_max_training_steps: PositiveInt = 2000
    # 0: automatic (5e-2 for the random-weight tiny model, 1e-4 for real models).
    clone_learning_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    clone_training_batch_size: PositiveInt = 1
    # 0: the model's native size (64 tiny, 512 otherwise).
    clone_training_resolution: NonNegativeInt = 0
    # Below RabbitMQ's consumer_timeout (30 min by default), like the generation limit.
    clone_training_time_limit_s: PositiveInt = 25 * 60
    # Deliveries of one clone's training (a crashed worker's message comes back) before it fails.
    clone_training_max_attempts: PositiveInt = 3

    # Privacy and retention (neurall/privacy/, neurall/retention/, README "Privacy").
    usage_retention_days: PositiveInt = 90
    export_ttl_s: PositiveInt = 24 * 3600
    exports_per_day_per_account: PositiveInt = 5
    # Temporary uploads (uploads/ in storage) older than this are deleted unless training.
    abandoned_upload_ttl_s: PositiveInt = 6 * 3600
    # How often the maintenance actor runs every retention policy.
    retention_interval_s: PositiveInt = 300

    # Webhooks (neurall/webhooks/, docs/webhooks.md).
    webhooks_allow_insecure_urls: bool = Field(
        default=False,
        description="Development and tests only: allow http:// webhook URLs and loopback "
        "addresses. Refused together with NEURALL_PRODUCTION.",
    )
    webhook_timeout_s: PositiveInt = Field(
        default=15, description="A webhook attempt that takes longer counts as failed."
    )
    webhook_disable_after_failing_s: PositiveInt = Field(
        default=3 * 24 * 3600,
        description="An endpoint whose deliveries have failed for this long is disabled.",
    )
    webhook_delivery_retention_days: PositiveInt = Field(
        default=30, description="Delivery log rows older than this are deleted."
    )
    webhook_worker_threads: PositiveInt = Field(
        default=2,
        description="Embedded serve: threads for the webhooks queue alone, so a slow "
        "receiver never holds a generation worker.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value and not value.startswith(("amqp://", "amqps://")):
            raise ValueError("must be empty (in-process) or an amqp:// URL")
        return value

    @field_validator("inference_url")
    @classmethod
    def _known_inference(cls, value: str) -> str:
        if value != "embedded" and not value.startswith("grpc://"):
            raise ValueError("must be 'embedded' or a Triton grpc://host:port URL")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (o.strip() for o in value.split(","))):
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.production and self.insecure_localhost_cookies:
            # Pydantic models are frozen; bypass once, during validation only.
            object.__setattr__(self, "insecure_localhost_cookies", False)
        if self.production and self.webhooks_allow_insecure_urls:
            raise ValueError(
                "NEURALL_WEBHOOKS_ALLOW_INSECURE_URLS is for development; it cannot be on "
                "with NEURALL_PRODUCTION"
            )
        if self.session_idle_timeout_s > self.session_absolute_timeout_s:
            raise ValueError(
                "NEURALL_SESSION_IDLE_TIMEOUT_S must not exceed NEURALL_SESSION_ABSOLUTE_TIMEOUT_S"
            )
        return self

    @property
    def is_embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"


def load_settings(**overrides: object) -> Settings:
    """Read the environment, fill in the embedded defaults and return the settings.

    Derived defaults: the database is a SQLite file in the data directory, and the secret
    key is generated once and kept in the data directory so sessions and signed links
    survive restarts.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    derived: dict[str, object] = {"data_dir": data_dir}
    if not settings.database_url:
        derived["database_url"] = f"sqlite://{data_dir / 'neurall.sqlite3'}"
    if not settings.secret_key.get_secret_value():
        derived["secret_key"] = SecretStr(_persistent_secret(data_dir / SECRET_KEY_FILE))
    return settings.model_copy(update=derived)


def _persistent_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    # Create with owner-only permissions; O_EXCL makes two racing first starts agree.
    try:
        with path.open("x") as handle:
            path.chmod(0o600)
            handle.write(value)
    except FileExistsError:
        return path.read_text().strip()
    return value


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = f"NEURALL_{field.upper()}" if field else "settings"
        lines.append(f"{name}: {error['msg']}")
    return "invalid configuration: " + "; ".join(lines)
