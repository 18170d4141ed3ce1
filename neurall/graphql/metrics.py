"""What an operation is called in metrics and logs: a bounded name taken from the schema.

The ``operationName`` a client sends is free text (a caller could put a prompt or an
account id in it), so it is never a label. The label is the operation's root field
instead (``generate``, ``me``, ``jobEvents``): the schema fixes that set. An operation
selecting several root fields is ``multiple``; one that does not parse, names an unknown
field or selects through a fragment is ``other``.
"""

from __future__ import annotations

import time

from graphql import FieldNode, OperationDefinitionNode
from strawberry.types import ExecutionContext

from neurall.metrics import GRAPHQL_DURATION, GRAPHQL_OPERATIONS, OPEN_SUBSCRIPTIONS

OTHER = "other"
MULTIPLE = "multiple"
UNKNOWN_TYPE = "unknown"


def _definition(context: ExecutionContext) -> OperationDefinitionNode | None:
    document = context.graphql_document
    if document is None:
        return None
    wanted = context.operation_name
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            wanted is None or (definition.name is not None and definition.name.value == wanted)
        ):
            return definition
    return None


def operation_labels(context: ExecutionContext) -> tuple[str, str]:
    """``(root field or other/multiple, query/mutation/subscription or unknown)``."""
    definition = _definition(context)
    if definition is None:
        return OTHER, UNKNOWN_TYPE
    kind = definition.operation.value
    root = {
        "query": context.schema._schema.query_type,
        "mutation": context.schema._schema.mutation_type,
        "subscription": context.schema._schema.subscription_type,
    }.get(kind)
    names = set()
    for selection in definition.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return OTHER, kind
        names.add(selection.name.value)
    names.discard("__typename")
    if len(names) > 1:
        return MULTIPLE, kind
    name = next(iter(names), OTHER)
    if root is None or name not in root.fields:
        return OTHER, kind
    return name, kind


def outcome(context: ExecutionContext) -> str:
    """``invalid`` (did not parse or validate), ``error`` (GraphQL errors) or ``ok``
    (UserErrors are data: the operation worked)."""
    if context.pre_execution_errors:
        return "invalid"
    result = context.result
    if result is not None and getattr(result, "errors", None):
        return "error"
    return "ok"


def record(context: ExecutionContext, started: float) -> tuple[str, float]:
    """Count the operation and time it; returns its label and the seconds it took."""
    elapsed = time.perf_counter() - started
    name, kind = operation_labels(context)
    GRAPHQL_OPERATIONS.labels(name, kind, outcome(context)).inc()
    if kind != "subscription":  # a subscription's duration is its lifetime
        GRAPHQL_DURATION.labels(name, kind).observe(elapsed)
    return name, elapsed


def subscription_opened(context: ExecutionContext) -> str | None:
    """Count an open subscription; returns its label to close it with, if it is one."""
    name, kind = operation_labels(context)
    if kind != "subscription":
        return None
    OPEN_SUBSCRIPTIONS.labels(name).inc()
    return name


def subscription_closed(name: str) -> None:
    OPEN_SUBSCRIPTIONS.labels(name).dec()
