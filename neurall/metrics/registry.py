"""The metric objects. Counters count what happened in this process (Prometheus sums
them over processes); gauges that describe shared state (credits held, jobs queued) are
read from the database when `/metrics` is scraped, so every API process reports the same
true figure rather than its own share."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Seconds: a `me` query takes milliseconds, a generate mutation waits on the database.
_API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds: jobs wait and run for seconds to minutes (training: up to an hour).
_JOB_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# neurall serve
GRAPHQL_OPERATIONS = Counter(
    "neurall_graphql_operations",
    "GraphQL operations by root field (`other`: unknown or invalid, `multiple`: several "
    "root fields), type and outcome (ok, error, invalid).",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "neurall_graphql_duration_seconds",
    "Time to execute a GraphQL query or mutation, by root field and type.",
    ["operation", "type"],
    buckets=_API_BUCKETS,
)
OPENAI_CALLS = Counter(
    "neurall_openai_calls",
    "Calls of the OpenAI-compatible API by operation (images.generate, images.edit, "
    "models.list) and HTTP status.",
    ["operation", "status"],
)
OPENAI_DURATION = Histogram(
    "neurall_openai_duration_seconds",
    "Time to answer an OpenAI-compatible call, by operation: an images call waits for its "
    "job, so this is about the job's time from submission to its end.",
    ["operation"],
    buckets=_JOB_BUCKETS,
)
OPEN_WEBSOCKETS = Gauge("neurall_websockets_open", "GraphQL websockets open now.")
OPEN_SUBSCRIPTIONS = Gauge(
    "neurall_subscriptions_open", "GraphQL subscriptions running now, by root field.", ["operation"]
)
RATE_LIMIT_REFUSALS = Counter(
    "neurall_rate_limit_refusals",
    "Requests refused by a rate limit, by limit (key, account, generate, clone, webhook, "
    "reset-email, reset-ip, verification).",
    ["limit"],
)
CREDITS_HELD = Gauge(
    "neurall_credits_held",
    "Credits held now by open holds, all accounts together (read from the database).",
)
JOBS_QUEUED = Gauge(
    "neurall_jobs_queued", "Generation jobs waiting to run (read from the database)."
)
OLDEST_QUEUED_JOB_AGE = Gauge(
    "neurall_oldest_queued_job_age_seconds",
    "How long the oldest waiting generation job has waited (0: none waits).",
)
JOBS_WAITING = Gauge(
    "neurall_jobs_waiting",
    "Generation jobs waiting to run, by priority (STANDARD, BATCH) and catalog model "
    "(read from the database).",
    ["priority", "model"],
)

# Wherever a hold is settled (the worker, or serve when embedded).
CREDITS_CHARGED = Counter(
    "neurall_credits_charged", "Credits charged when holds were settled in this process."
)

# neurall worker (and serve's embedded queue)
WORKER_MESSAGES = Counter(
    "neurall_worker_messages",
    "Dramatiq messages processed, by actor and outcome (done, failed, skipped).",
    ["actor", "outcome"],
)
WORKER_MESSAGES_IN_PROGRESS = Gauge(
    "neurall_worker_messages_in_progress", "Messages being processed now, by actor.", ["actor"]
)
WORKER_RETRIES = Counter(
    "neurall_worker_retries", "Messages received again for a retry, by actor.", ["actor"]
)
WORKER_QUEUE_WAIT = Histogram(
    "neurall_worker_queue_wait_seconds",
    "Time from enqueue (or from the end of a retry delay) to the start of processing.",
    ["actor"],
    buckets=_JOB_BUCKETS,
)
JOB_QUEUE_WAIT = Histogram(
    "neurall_job_queue_wait_seconds",
    "Time from a job's submission to its first start, by priority (STANDARD, BATCH). "
    "BATCH jobs may wait for hours on a busy server, hence the long buckets.",
    ["priority"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600),
)
WORKER_RUN_TIME = Histogram(
    "neurall_worker_run_seconds",
    "Time spent processing a message, by actor.",
    ["actor"],
    buckets=_JOB_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "neurall_webhook_deliveries",
    "Webhook delivery attempts by outcome (delivered, retrying, failed).",
    ["outcome"],
)

# Every process that stores files.
STORAGE_ERRORS = Counter(
    "neurall_storage_errors",
    "Failed storage operations (disk or bucket), by operation.",
    ["operation"],
)


def exposition() -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
