"""Prometheus figures of the pipeline, wherever a BatchRunner runs it: `neurall gpu`
(served on ``--pipeline-metrics-port``) or the embedded backend of `neurall serve` and
`neurall worker` (on their own metrics). Here, not in neurall.metrics: this layer imports
nothing of the rest of the project. Labels are fixed outcomes only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PIPELINE_CALLS = Counter(
    "neurall_gpu_pipeline_calls",
    "Pipeline calls (one per batch run) by outcome: ok, canceled, error.",
    ["outcome"],
)
BATCH_SIZE = Histogram(
    "neurall_gpu_batch_size",
    "Requests per pipeline call.",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
)
BUSY_SECONDS = Counter(
    "neurall_gpu_busy_seconds",
    "Seconds spent inside pipeline calls; its rate is the busy fraction (1: always busy).",
)
REQUESTS_WAITING = Gauge(
    "neurall_gpu_requests_waiting", "Requests waiting for the pipeline (not yet in a call)."
)
PIPELINE_LOADED = Gauge(
    "neurall_gpu_pipeline_loaded", "1 once the pipeline is loaded and can generate."
)
