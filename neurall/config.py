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
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    """The whole configuration. Each field's description is its documentation:
    docs/configuration.md is generated from them (``make docs``)."""

    model_config = SettingsConfigDict(env_prefix="NEURALL_", frozen=True, extra="ignore")

    # General: where things are and what they connect to.
    data_dir: Path = Field(
        Path("./neurall-data"),
        description="Where the SQLite database, the secret key, stored images and model caches "
        "live.",
    )
    database_url: str = Field(
        "",
        description="`sqlite://PATH` or `postgres://user:password@host:port/db`; empty: "
        "`sqlite://<data dir>/neurall.sqlite3`.",
    )
    broker_url: str = Field(
        "",
        description="Empty: the in-process queue and event bus; "
        "`amqp://user:password@host:5672/` for RabbitMQ.",
    )
    storage_url: str = Field(
        "",
        description="Empty: images, clone weights, exports and uploads live under "
        "`<data dir>/storage`. `s3://bucket/prefix?endpoint=https://host&region=name` for an "
        "S3-compatible bucket shared by every process (credentials from AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY or botocore's other sources; docs/storage.md).",
    )
    adapter_cache_bytes: PositiveInt = Field(
        2 * 1024**3,
        description="Inference processes copy the clone weights they use from an S3 bucket "
        "into `<data dir>/adapter-cache`, least recently used first out once it holds this "
        "many bytes.",
    )
    inference_url: str = Field(
        "embedded",
        description="`embedded` (the pipeline in-process) or `grpc://host:8001` for Triton.",
    )
    models_file: Path | None = Field(
        None,
        description="The model catalog, a TOML file of `[[model]]` entries (docs/models.md). "
        "Unset: the three built-in tiny models, `tiny-sd` (the default), `tiny-sdxl` and "
        "`tiny-flux`.",
    )
    model: str = Field(
        "tiny",
        description="Without a catalog file, the default model's source: `tiny` (the built-in "
        "random-weight SD 1.x model) or a diffusers SD 1.x model id or local path. Prefer "
        "`NEURALL_MODELS_FILE`.",
    )
    gpu_memory_budget_mb: NonNegativeFloat = Field(
        0.0,
        description="`neurall gpu` (and the embedded backend): the memory its loaded models may "
        "occupy, in MB (as measured at each load); a model that needs room unloads the least "
        "recently used idle ones, which load again on their next request. 0: unlimited.",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs links and tokens, and seals the secrets stored in the database "
        "(docs/security.md); set the same value on every process. Empty: generated once into "
        "`<data dir>/secret_key`.",
    )
    previous_secret_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated earlier values of `NEURALL_SECRET_KEY`: they no longer "
        "seal or sign anything, but still open stored secrets sealed under them until "
        "`neurall secrets rotate` has resealed those under the current key.",
    )
    production: bool = Field(
        False,
        description="Turns off GraphiQL, introspection, field suggestions and plain-http cookies.",
    )
    public_url: str = Field(
        "",
        description="The address users reach the API at (links, allowed origin). Empty: "
        "`neurall serve`'s own `http://HOST:PORT` from its `--host` and `--port` (`localhost` "
        "when the host is a wildcard such as `0.0.0.0`); other commands, which cannot know "
        "the API's address, use `http://127.0.0.1:8000`. Set it on every process behind a "
        "proxy or load balancer, and on workers (their e-mails and webhooks carry links).",
    )

    # Sessions.
    session_idle_timeout_s: PositiveInt = Field(
        7 * 24 * 3600,
        description="A session unused this long ends; at most "
        "`NEURALL_SESSION_ABSOLUTE_TIMEOUT_S`.",
    )
    session_absolute_timeout_s: PositiveInt = Field(
        30 * 24 * 3600, description="A session ends this long after log-in, used or not."
    )
    insecure_localhost_cookies: bool = Field(
        True,
        description="Over plain http to `localhost` or `127.0.0.1`, drop `Secure` and the "
        "`__Host-` prefix from the session cookie. Forced `false` in production.",
    )

    # Abuse limits on authentication.
    login_failures_per_email: PositiveInt = Field(
        5, description="Failed log-ins per e-mail per window before `RateLimited`."
    )
    login_failures_per_ip: PositiveInt = Field(
        20, description="Failed log-ins per IP per window before `RateLimited`."
    )
    login_failure_window_s: PositiveInt = Field(
        15 * 60, description="The window of the two failed log-in limits."
    )
    signups_per_ip_per_hour: PositiveInt = Field(20, description="Sign-ups per IP per hour.")

    # GraphQL limits.
    graphql_max_depth: PositiveInt = Field(10, description="Deepest query accepted.")
    graphql_max_aliases: PositiveInt = Field(15, description="Most aliases in one document.")
    graphql_max_tokens: PositiveInt = Field(
        2000, description="Longest document accepted, in tokens."
    )

    # Security hardening (neurall/web/csrf.py, cors.py, neurall/graphql/view.py, docs/security.md).
    cors_origins: str = Field(
        "",
        description="Comma-separated origins (`scheme://host[:port]`) trusted besides "
        "`NEURALL_PUBLIC_URL`'s own: CORS with credentials, cookie-authenticated POSTs and "
        "websockets.",
    )
    ws_connection_init_timeout_s: PositiveInt = Field(
        10, description="A websocket that sends no `connection_init` by then is closed (4408)."
    )
    ws_max_subscriptions: PositiveInt = Field(20, description="In-flight operations per websocket.")
    ws_max_message_bytes: PositiveInt = Field(
        64 * 1024, description="Bigger websocket messages close the socket (1009)."
    )
    max_request_body_bytes: PositiveInt = Field(
        1024 * 1024,
        description="Largest body other than multipart uploads (GraphQL JSON, webhooks, "
        "forms); larger ones get 413.",
    )
    rate_limit_backend: Literal["memory", "database"] = Field(
        "memory",
        description="Where the token buckets live: `memory` (each API process has its own; the "
        "embedded default) or `database` (shared by every API process on the same database).",
    )
    requests_per_minute_per_api_key: PositiveInt = Field(
        600, description="GraphQL operations per minute per API key."
    )
    requests_per_minute_per_account: PositiveInt = Field(
        1200,
        description="GraphQL operations per minute per account, sessions and keys together.",
    )
    generates_per_minute_per_account: PositiveInt = Field(
        60, description="`generate` calls per minute per account."
    )
    clones_per_hour_per_account: PositiveInt = Field(
        10, description="`createClone` calls per hour per account."
    )
    max_active_jobs_per_account: PositiveInt = Field(
        16,
        description="Jobs one account may have queued or running at once; more get "
        "`RateLimited`. Counts STANDARD jobs; BATCH jobs have their own cap.",
    )
    max_batch_jobs_per_account: PositiveInt = Field(
        1000,
        description="BATCH jobs one account may have queued or running at once; more get "
        "`RateLimited`. Larger than the STANDARD cap, so bulk work is submitted at once: "
        "BATCH jobs only take the slots no STANDARD job waits for.",
    )
    queue_order: Literal["fair", "fifo"] = Field(
        "fair",
        description="Which waiting job a free worker starts. `fair`: the next STANDARD job "
        "comes from the waiting account with the fewest jobs started in the last "
        "`NEURALL_FAIR_SHARE_WINDOW_S` (ties: the one whose last start is oldest), so one "
        "account's backlog never holds another's first job for long. `fifo`: the oldest "
        "job (the benchmark's baseline). Either way BATCH jobs wait while a STANDARD one waits.",
    )
    fair_share_window_s: PositiveInt = Field(
        600,
        description="How far back the `fair` queue order counts each account's job starts: "
        "an account that was quiet this long is treated as new.",
    )
    audit_retention_days: PositiveInt = Field(
        365, description="Audit events older than this many days are deleted."
    )

    # Credits and billing (neurall/billing/).
    signup_grant_credits: NonNegativeInt = Field(
        100, description="Credits granted to every new account."
    )
    credit_pixel_steps: PositiveInt = Field(
        512 * 512 * 20,
        description="Pixels x steps that cost one credit (the default is 512 x 512 x 20).",
    )
    clone_price_percent: Annotated[int, Field(ge=100)] = Field(
        150,
        description="Price of an image that uses a clone, in percent of a plain one.",
    )
    training_image_steps_per_credit: PositiveInt = Field(
        200, description="Clone training: training steps x photos that cost one credit."
    )
    stripe_secret_key: SecretStr = Field(
        SecretStr(""),
        description="Stripe secret API key. Billing is off (`createCheckout` answers "
        "`BillingUnavailable`) unless both Stripe secrets are set.",
    )
    stripe_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Signing secret (`whsec_...`) of the `/webhooks/stripe` endpoint; billing "
        "needs it too.",
    )
    stripe_api_base: str = Field(
        "",
        description="Another API base for the stripe library; empty: Stripe's own API (the "
        "tests point it at a local stand-in).",
    )
    credit_price_cents: PositiveInt = Field(
        1, description="Price of one credit, in the currency's smallest unit."
    )
    credit_currency: str = Field("usd", description="Checkout currency.")
    checkout_min_credits: PositiveInt = Field(
        100, description="Fewest credits one checkout sells (`InvalidInput` below)."
    )
    checkout_max_credits: PositiveInt = Field(
        100_000, description="Most credits one checkout sells (`InvalidInput` above)."
    )
    checkout_success_url: str = Field(
        "",
        description="Where Stripe sends the buyer after paying; empty: "
        "`{public url}/?checkout=success`.",
    )
    checkout_cancel_url: str = Field(
        "",
        description="Where Stripe sends a buyer who gives up; empty: "
        "`{public url}/?checkout=cancel`.",
    )

    # Generation (neurall/generation/, neurall/workers/, neurall/gpu/).
    default_image_size: NonNegativeInt = Field(
        0,
        description="Width and height when `generate` omits them, for every model; 0: the "
        "chosen model's native size (its catalog entry, docs/models.md).",
    )
    max_image_side: PositiveInt = Field(
        1024,
        description="Largest width or height `generate` accepts (multiples of 8, from 64), "
        "whatever the model: a model's own maximum above it is capped to it.",
    )
    generation_max_retries: NonNegativeInt = Field(
        5,
        description="Retries of a job whose inference server is unavailable, before it fails "
        "(refunded).",
    )
    generation_min_backoff_ms: PositiveInt = Field(
        2000, description="First retry delay (Dramatiq doubles it each time)."
    )
    generation_max_backoff_ms: PositiveInt = Field(60_000, description="Longest retry delay.")
    generation_time_limit_s: PositiveInt = Field(
        20 * 60,
        description="A job running longer is interrupted. Keep it below RabbitMQ's "
        "`consumer_timeout` (30 min by default), or RabbitMQ closes the channel.",
    )
    job_lease_s: PositiveInt = Field(
        120,
        description="A running job's lease: its worker renews it every quarter of this while "
        "it works, and a job whose lease expired (its worker died, or lost the database or "
        "the broker) is taken over by the reaper: queued again while attempts remain, else "
        "failed and refunded. Far longer than any denoising step; a job stuck by an outage "
        "ends within this plus one reaper interval.",
    )
    dispatch_timeout_s: PositiveInt = Field(
        120,
        description="A QUEUED job whose message was sent this long ago and that no worker "
        "has started since may have lost its message (a crash between commit and publish, "
        "a purged queue): the reaper sends it again, but only as many of the oldest such "
        "jobs as the queue is short of messages, so a long but healthy queue is left alone.",
    )
    reaper_interval_s: PositiveInt = Field(
        15,
        description="How often every worker process (and an embedded `neurall serve`) looks "
        "for expired leases, jobs waiting for the broker, and payloads left behind by an "
        "outage. It runs beside the broker, not through it, so it works while RabbitMQ is down.",
    )
    inference_timeout_s: PositiveInt = Field(
        600, description="Deadline of one Triton generation stream."
    )
    safety_checker: str = Field(
        "",
        description="The safety checker run on every generated image (docs/safety.md): a "
        "local path or hub id of diffusers' `StableDiffusionSafetyChecker` with its CLIP "
        "image processor, e.g. a saved `CompVis/stable-diffusion-safety-checker`; empty: off. "
        "Loaded by the process that runs the pipeline (`neurall serve` when embedded, "
        "`neurall gpu` for Triton).",
    )
    safety_policy: Literal["blur", "drop", "flag"] = Field(
        "blur",
        description="What happens to an image the safety checker flags: `blur` (delivered "
        "strongly blurred), `drop` (withheld and not charged; a job whose every image was "
        "withheld fails) or `flag` (delivered as generated). Every flagged image that is "
        "delivered has `Image.flagged` set.",
    )
    embedded_worker_threads: PositiveInt = Field(
        2, description="Worker threads inside `neurall serve` on the embedded broker."
    )
    embedded_batch_window_ms: NonNegativeInt = Field(
        0,
        description="How long an idle embedded pipeline holding a partial batch waits for "
        "another compatible job, counted from the newest one (`neurall/gpu/batching.py`): a "
        "burst gathers however long it lasts, and a full batch starts at once. 0: start at "
        "once. What it changed is measured in docs/performance.md.",
    )
    pipeline_compile: Literal["off", "on", "auto"] = Field(
        "off",
        description="The optimized pipeline (`neurall/gpu/optimize.py`): the denoiser in "
        "channels_last with fused QKV projections, compiled with `torch.compile` for the "
        "shapes warmed up at load (each entry's `warmup_sizes`, else its native size, at "
        "`NEURALL_PIPELINE_COMPILE_BATCHES` images per call); other shapes run eagerly. `on`, "
        "`off`, or `auto` (on for CUDA, off on the CPU). The warm-up happens at load and "
        "costs tens of seconds per compiled batch size on a GPU (docs/performance.md); a "
        "catalog entry's `optimize` overrides this. For `neurall gpu` and the embedded "
        "backend alike.",
    )
    pipeline_compile_batches: str = Field(
        "1,2,4,8",
        pattern=r"^\s*[1-9][0-9]*(\s*,\s*[1-9][0-9]*)*\s*$",
        description="Images per pipeline call compiled at warm-up when the pipeline is "
        "optimized; a call is padded up to the next of them (more of them: a longer warm-up).",
    )
    pipeline_cuda_graphs: bool = Field(
        False,
        description="With the optimized pipeline on CUDA, compile in `reduce-overhead` mode: "
        "each denoising step replays as a CUDA graph.",
    )
    triton_stub_python: str = Field(
        "",
        description="`neurall gpu`: a Python environment (a venv's folder) that runs Triton's "
        "Python backend stub only, never `neurall gpu` itself: one with numpy 1.26 for "
        "PyTriton 0.7's stub on a machine whose own numpy is 2 (docs/performance.md). Empty: "
        "the interpreter running `neurall gpu`.",
    )
    embedded_stats_file: Path | None = Field(
        None,
        description="A JSON file the embedded pipeline rewrites after every call with its "
        "batching counters (calls, requests, batch sizes, canceled calls, seconds spent in "
        "calls), as `neurall gpu --stats-file`; unset: none.",
    )
    worker_threads: PositiveInt = Field(
        16,
        description="Jobs one `neurall worker` runs at once (`--threads` overrides). They "
        "mostly wait on Triton, so threads are cheap; keep it at least twice Triton's max "
        "batch size (8), or the batcher never sees a full batch: with 8, the benchmark's "
        "pipeline calls settled into batches of 1 and 7.",
    )
    api_image_ttl_s: PositiveInt = Field(
        15 * 60,
        description="API job results carry `expiresAt` this long after they are made, and are "
        "discarded then (the privacy policy's promise: 15 minutes).",
    )
    openai_wait_s: PositiveFloat = Field(
        120.0,
        description="How long an OpenAI-compatible images call (`/v1/images/*`) waits for "
        "its job before answering 504 with the job's id (the job goes on; read it through "
        "GraphQL). docs/openai-compat.md.",
    )
    api_payload_ttl_s: PositiveInt = Field(
        3600,
        description="Longest an API job's private request may wait in RabbitMQ before "
        "RabbitMQ drops it (the job then fails, refunded).",
    )
    preview_every_steps: NonNegativeInt = Field(
        5,
        description="A PREVIEW event (a low-resolution preview of the latents as a "
        "`data:image/png` URL) every N denoising steps; 0: none.",
    )
    progress_write_interval_ms: NonNegativeInt = Field(
        250,
        description="How often a running job's step is written to the database "
        "(`neurall/generation/progress.py`). Events go out for every step regardless; a "
        "cancel is noticed by the worker within this interval.",
    )

    # AI cloning (neurall/clones/, docs/api.md "AI cloning").
    clone_default_training_steps: PositiveInt = Field(
        400, description="Training steps when `createClone` omits `trainingSteps`."
    )
    clone_max_training_steps: PositiveInt = Field(
        2000, description="Most `trainingSteps` accepted."
    )
    clone_learning_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0,
        description="LoRA learning rate; 0: automatic (1e-4 for real models, 5e-2 for the "
        "random-weight tiny model).",
    )
    clone_training_batch_size: PositiveInt = Field(
        1, description="Photos per training step (at most the number uploaded)."
    )
    clone_training_resolution: NonNegativeInt = Field(
        0,
        description="Side of the square photos training sees; 0: the model's native size "
        "(64 tiny, 512 otherwise).",
    )
    clone_training_time_limit_s: PositiveInt = Field(
        25 * 60,
        description="A training running longer is interrupted (FAILED, refunded, photos "
        "deleted). Keep it below RabbitMQ's `consumer_timeout` (30 min by default), like the "
        "generation limit.",
    )
    clone_training_max_attempts: PositiveInt = Field(
        3,
        description="Deliveries of one clone's training (a crashed worker's message comes "
        "back) before it fails.",
    )

    # Privacy and retention (neurall/privacy/, neurall/retention/, docs/privacy.md).
    usage_retention_days: PositiveInt = Field(
        90, description="API usage logs older than this many days are deleted."
    )
    usage_flush_interval_ms: PositiveInt = Field(
        100,
        description="API usage rows wait in memory and are written in one insert per batch "
        "(a commit per row was the largest cost of an API request on SQLite): every this "
        "many milliseconds, sooner once `NEURALL_USAGE_FLUSH_ROWS` wait, and on shutdown. A "
        "crash loses at most the rows of one interval (docs/usage-log.md).",
    )
    usage_flush_rows: PositiveInt = Field(
        100, description="Usage rows that make a batch be written before its interval ends."
    )
    usage_buffer_rows: PositiveInt = Field(
        10_000,
        description="Most usage rows waiting in memory: a request that finds the buffer full "
        "writes the batch itself before adding its row.",
    )
    export_ttl_s: PositiveInt = Field(
        24 * 3600,
        description="A data export zip is served this long after it is built, then deleted.",
    )
    exports_per_day_per_account: PositiveInt = Field(
        5,
        description="`requestDataExport` calls allowed per account per 24 hours (then "
        "`RateLimited`).",
    )
    abandoned_upload_ttl_s: PositiveInt = Field(
        6 * 3600,
        description="Temporary uploads (`uploads/` in storage) older than this are deleted "
        "unless their clone is queued or training.",
    )
    retention_interval_s: PositiveInt = Field(
        300, description="How often the maintenance actor runs every retention policy."
    )

    # E-mail (neurall/mail/, docs/email.md).
    smtp_url: SecretStr = Field(
        SecretStr(""),
        description="smtp://user:password@host:587 (STARTTLS when offered) or "
        "smtps://user:password@host:465 (TLS from the start); empty: no SMTP, messages are "
        "written as .eml files to <data dir>/outbox",
    )
    mail_from: str = Field(
        "Neurall <no-reply@localhost>", description="the From header of every e-mail"
    )
    product_name: str = Field("Neurall", description="the name e-mails are signed with")
    require_verified_email: bool | None = Field(
        None,
        description="accounts must confirm their address before buying credits or creating "
        "API keys; unset: on with NEURALL_PRODUCTION, off otherwise",
    )
    email_verification_ttl_s: PositiveInt = Field(
        48 * 3600, description="how long an address confirmation link works"
    )
    password_reset_ttl_s: PositiveInt = Field(
        3600, description="how long a password reset link works (used once)"
    )
    password_reset_response_ms: PositiveInt = Field(
        400,
        description="requestPasswordReset answers after at least this long, so the answer "
        "time does not tell whether an account has the address",
    )
    password_resets_per_email_per_hour: PositiveInt = Field(
        3, description="requestPasswordReset calls per address per hour"
    )
    password_resets_per_ip_per_hour: PositiveInt = Field(
        20, description="requestPasswordReset calls per client IP per hour"
    )
    verification_emails_per_hour: PositiveInt = Field(
        5, description="requestEmailVerification calls per account per hour"
    )
    mail_max_retries: NonNegativeInt = Field(
        12, description="attempts after the first before a message waits for the relay"
    )
    mail_min_backoff_ms: PositiveInt = Field(
        5000, description="first retry delay of a message the SMTP server did not take"
    )
    mail_max_backoff_ms: PositiveInt = Field(
        30 * 60 * 1000, description="longest retry delay of an undelivered message"
    )
    mail_outbox_retention_days: PositiveInt = Field(
        7, description="undelivered messages older than this are deleted unsent"
    )
    marketing_batch_size: PositiveInt = Field(
        200, description="accounts queued per transaction by `neurall marketing send`"
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and not raw.startswith(("smtp://", "smtps://")):
            raise ValueError("must be empty (write .eml files) or an smtp:// or smtps:// URL")
        return value

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
        description="Embedded serve: threads for the webhooks and events queues alone "
        "(deliveries and the event relay), so a slow receiver or a burst of events never "
        "holds a generation worker.",
    )
    webhook_poll_ms: int = Field(
        default=1000,
        ge=10,
        le=10_000,
        description="Embedded serve: how often idle webhook and event threads look for work. Each "
        "wake-up takes the interpreter lock from the jobs running in the same process, so "
        "idle threads wake rarely; a stop waits up to twice this for them.",
    )

    # Operations: metrics and logs (docs/metrics.md).
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token `neurall serve` requires on `/metrics` (`Authorization: "
        "Bearer <token>`). Empty: `/metrics` is open in development and not served at all "
        "with NEURALL_PRODUCTION.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="`neurall worker`: serve its Prometheus metrics on this port (no "
        "token: keep it on a private network). Empty: not served.",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="`neurall worker`: the address its metrics port listens on "
        "(`0.0.0.0` to be scraped from another host).",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`text`: one readable line per record; `json`: one JSON object per "
        "line with the request id, operation name, job id and duration when known.",
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

    @field_validator("storage_url")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        # The rest of the URL is checked where it is parsed (neurall.storage.make_storage).
        if value and not value.startswith("s3://"):
            raise ValueError("must be empty (the data directory) or an s3://bucket/prefix URL")
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
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.production and self.insecure_localhost_cookies:
            # Pydantic models are frozen; bypass once, during validation only.
            object.__setattr__(self, "insecure_localhost_cookies", False)
        if self.require_verified_email is None:
            object.__setattr__(self, "require_verified_email", self.production)
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
    def previous_secret_key_list(self) -> list[str]:
        raw = self.previous_secret_keys.get_secret_value()
        return [key.strip() for key in raw.split(",") if key.strip()]

    @property
    def is_embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "storage"

    @property
    def adapter_cache_dir(self) -> Path:
        """Where inference processes keep clone weights fetched from an S3 bucket."""
        return self.data_dir / "adapter-cache"

    @property
    def outbox_dir(self) -> Path:
        """Where the embedded mail sender writes .eml files (no NEURALL_SMTP_URL)."""
        return self.data_dir / "outbox"

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"


def load_settings(listen: tuple[str, int] | None = None, **overrides: object) -> Settings:
    """Read the environment, fill in the embedded defaults and return the settings.

    Derived defaults: the database is a SQLite file in the data directory, the secret
    key is generated once and kept in the data directory so sessions and signed links
    survive restarts, and the public URL is the address `neurall serve` listens on
    (``listen``: its ``--host`` and ``--port``), so its links and its own page's origin
    are right without configuration.
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
    if not settings.public_url:
        derived["public_url"] = listen_url(*(listen or DEFAULT_LISTEN))
    return settings.model_copy(update=derived)


# `neurall serve`'s default --host and --port.
DEFAULT_LISTEN = ("127.0.0.1", 8000)
# Addresses that mean "every interface": no client can use them to reach the server.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]", "*"}  # noqa: S104 - compared, not bound


def listen_url(host: str, port: int) -> str:
    """The http URL a local browser reaches a server listening on ``host``:``port`` at.
    A wildcard host says nothing about the name users type, so ``localhost`` stands in
    for it (an operator serving others sets NEURALL_PUBLIC_URL)."""
    if host in _WILDCARD_HOSTS:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


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
