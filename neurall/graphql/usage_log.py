"""The usage log: one record per operation made with an API key.

Called from the schema's extension (neurall.graphql.schema.ServerHooks) after every
operation, so no field can forget it. It records what the server measured (root field
names, duration, status, credits and images the operation reserved) and the client's IP
and user agent; never the variables, the document's literals or any result.
"""

from __future__ import annotations

import logging
import time

from graphql import FieldNode, OperationDefinitionNode
from strawberry.types import ExecutionContext

from neurall.graphql.context import Context
from neurall.privacy.usage import usage_row

log = logging.getLogger(__name__)


def root_fields(document: object, operation_name: str | None) -> str:
    """The selected operation's root field names, e.g. "generate" (never arguments)."""
    definitions = getattr(document, "definitions", None) or ()
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return "(invalid)"
    names = [
        s.name.value for s in operations[0].selection_set.selections if isinstance(s, FieldNode)
    ]
    return ",".join(dict.fromkeys(names)) or "(none)"


async def log_usage(execution_context: ExecutionContext, started: float) -> None:
    """Queue the row of an operation that ended (rate-limited and failed ones too), begun at
    ``started`` (time.perf_counter)."""
    context = execution_context.context
    if not isinstance(context, Context) or context.viewer is None:
        return
    viewer = context.viewer
    if viewer.api_key is None:
        return  # playground (session) traffic is not API usage
    invalid = execution_context.pre_execution_errors
    errors = getattr(execution_context.result, "errors", None) or invalid
    # A document that did not validate may name fields that do not exist: not recorded.
    operation = (
        "(invalid)"
        if invalid
        else root_fields(execution_context.graphql_document, execution_context.operation_name)
    )
    row = usage_row(
        account_id=viewer.account.id,
        api_key_id=viewer.api_key.id,
        operation=operation,
        duration_ms=int((time.perf_counter() - started) * 1000),
        ok=not errors,
        ip=context.client_ip,
        user_agent=context.user_agent,
        ledger_reference=context.usage_reference,
        images=context.usage_images,
        model=context.usage_model,
    )
    try:
        # Queued and written with others in one insert, within the flush interval.
        await context.services.usage_log.add(row)
    except Exception:
        # A lost usage row must not fail the caller's request; the cause is logged.
        log.exception("could not record usage")
