"""Reading `/metrics`: parse the Prometheus text format with prometheus_client's parser, check
that every label value comes from a bounded set, and list the metric names the shipped
Grafana dashboard and alert rules use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from neurall.config import Settings
from neurall.gpu.catalog import builtin_catalog
from neurall.graphql.schema import build_schema as build_served_schema
from neurall.orm.jobs import JobPriority
from neurall.workers.actors import TRAIN_ACTOR
from neurall.workers.dead_letters import GENERATE_ACTOR
from neurall.workers.events import RELAY_ACTOR
from neurall.workers.events import SWEEP_ACTOR as SWEEP_EVENTS_ACTOR
from neurall.workers.mail import SEND_ACTOR
from neurall.workers.maintenance import EXPORT_ACTOR, RETENTION_ACTOR
from neurall.workers.webhooks import DELIVER_ACTOR, SWEEP_ACTOR

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "neurall-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Family name -> samples (name, labels, value); raises on text that does not parse."""
    parsed: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        parsed[family.name] = [(s.name, dict(s.labels), s.value) for s in family.samples]
    return parsed


def sample_names(parsed: dict[str, list[tuple[str, dict[str, str], float]]]) -> set[str]:
    """Every name a query can use: families and their samples (``_total``, ``_bucket``...)."""
    names = set(parsed)
    for samples in parsed.values():
        names.update(name for name, _, _ in samples)
    return names


def value(parsed: dict, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    family = parsed.get(re.sub(r"_(total|bucket|count|sum|created)$", "", name), [])
    return sum(
        v for n, ls, v in family if n == name and all(ls.get(k) == x for k, x in labels.items())
    )


def _root_fields() -> set[str]:
    """The served schema's root fields (the contract's and the few beyond it): the only
    operation names a label may carry."""
    schema = build_served_schema(Settings())._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {name for root in roots if root is not None for name in root.fields}


def bounded_labels() -> dict[str, set[str]]:
    """Each label of our metrics, and every value it may take."""
    return {
        "operation": _root_fields() | {"other", "multiple"},
        "type": {"query", "mutation", "subscription", "unknown"},
        "outcome": {
            "ok",
            "error",
            "invalid",
            "done",
            "failed",
            "skipped",
            "delivered",
            "retrying",
            "canceled",
        },
        "limit": {
            "key",
            "account",
            "generate",
            "clone",
            "webhook",
            "reset-email",
            "reset-ip",
            "verification",
        },
        "actor": {
            GENERATE_ACTOR,
            TRAIN_ACTOR,
            SEND_ACTOR,
            EXPORT_ACTOR,
            RETENTION_ACTOR,
            DELIVER_ACTOR,
            SWEEP_ACTOR,
            RELAY_ACTOR,
            SWEEP_EVENTS_ACTOR,
            "other",
        },
        "operation_storage": {"put", "get", "delete", "delete_prefix", "list_objects"},
        "priority": {p.value for p in JobPriority},
        # Catalog ids: the operator's file, never a caller's text (the built-in ones here).
        "model": {spec.id for spec in builtin_catalog()},
    }


def assert_bounded(parsed: dict) -> None:
    """Every label of every neurall_* sample takes a value of its bounded set."""
    allowed = bounded_labels()
    for family, samples in parsed.items():
        if not family.startswith("neurall_"):
            continue
        for name, labels, _ in samples:
            for label, label_value in labels.items():
                if label == "le":
                    continue
                key = "operation_storage" if family == "neurall_storage_errors" else label
                assert key in allowed, (name, label)
                assert label_value in allowed[key], (name, label, label_value)


def referenced_metrics() -> set[str]:
    """The metric names the dashboard's panels and the alert rules query."""
    exprs = [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
    ]
    rules = yaml.safe_load(ALERTS.read_text())
    exprs += [str(rule["expr"]) for group in rules["groups"] for rule in group["rules"]]
    assert exprs
    return {name for expr in exprs for name in re.findall(r"\bneurall_[a-z0-9_]+", expr)}
