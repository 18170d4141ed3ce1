"""Prometheus metrics of `neurall serve` and `neurall worker` (docs/metrics.md).

Every metric is defined here, once per process, in prometheus_client's default registry.
Labels take values from small fixed sets only (schema field names, rate-limit names, actor
names, outcomes): never an account id, a key, a prompt or anything else a caller typed.
`neurall gpu` has its own, in neurall.gpu.metrics (that layer imports nothing of the rest).
"""

from neurall.metrics.registry import (
    CREDITS_CHARGED,
    CREDITS_HELD,
    GRAPHQL_DURATION,
    GRAPHQL_OPERATIONS,
    JOB_QUEUE_WAIT,
    JOBS_QUEUED,
    JOBS_WAITING,
    OLDEST_QUEUED_JOB_AGE,
    OPEN_SUBSCRIPTIONS,
    OPEN_WEBSOCKETS,
    OPENAI_CALLS,
    OPENAI_DURATION,
    RATE_LIMIT_REFUSALS,
    STORAGE_ERRORS,
    WEBHOOK_DELIVERIES,
    WORKER_MESSAGES,
    WORKER_MESSAGES_IN_PROGRESS,
    WORKER_QUEUE_WAIT,
    WORKER_RETRIES,
    WORKER_RUN_TIME,
    exposition,
)

__all__ = [
    "CREDITS_CHARGED",
    "CREDITS_HELD",
    "GRAPHQL_DURATION",
    "GRAPHQL_OPERATIONS",
    "JOBS_QUEUED",
    "JOBS_WAITING",
    "JOB_QUEUE_WAIT",
    "OLDEST_QUEUED_JOB_AGE",
    "OPENAI_CALLS",
    "OPENAI_DURATION",
    "OPEN_SUBSCRIPTIONS",
    "OPEN_WEBSOCKETS",
    "RATE_LIMIT_REFUSALS",
    "STORAGE_ERRORS",
    "WEBHOOK_DELIVERIES",
    "WORKER_MESSAGES",
    "WORKER_MESSAGES_IN_PROGRESS",
    "WORKER_QUEUE_WAIT",
    "WORKER_RETRIES",
    "WORKER_RUN_TIME",
    "exposition",
]
