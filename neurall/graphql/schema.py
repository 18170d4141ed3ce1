"""The schema: one root type per domain module, merged, with the server's limits."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from neurall.config import Settings
from neurall.graphql import metrics
from neurall.graphql.accounts import AccountMutation, AccountQuery
from neurall.graphql.api_keys import ApiKeyMutation, ApiKeyQuery
from neurall.graphql.billing import BillingMutation, BillingQuery
from neurall.graphql.clones import CloneMutation, CloneQuery, CloneSubscription
from neurall.graphql.email import EmailMutation
from neurall.graphql.errors import ALL_ERROR_TYPES, should_mask
from neurall.graphql.generation.cancel_job import CancelJobMutation
from neurall.graphql.generation.generate import GenerateMutation
from neurall.graphql.generation.job_events import GenerationSubscription
from neurall.graphql.generation.models import ModelQuery
from neurall.graphql.generation.queries import GenerationQuery
from neurall.graphql.history import HistoryMutation, HistoryQuery
from neurall.graphql.limits import limit_operation
from neurall.graphql.outages import replace_outage_errors
from neurall.graphql.privacy import PrivacyMutation, PrivacyQuery
from neurall.graphql.shared_events import SharedEventExecutionContext
from neurall.graphql.usage_log import log_usage
from neurall.graphql.webhooks import WebhookMutation, WebhookQuery
from neurall.logs import OPERATION
from neurall.outages import is_outage

log = logging.getLogger("neurall.graphql")

Query = merge_types(
    "Query",
    (
        AccountQuery,
        ApiKeyQuery,
        GenerationQuery,
        ModelQuery,
        BillingQuery,
        HistoryQuery,
        PrivacyQuery,
        CloneQuery,
        WebhookQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        EmailMutation,
        ApiKeyMutation,
        GenerateMutation,
        CancelJobMutation,
        BillingMutation,
        HistoryMutation,
        PrivacyMutation,
        CloneMutation,
        WebhookMutation,
    ),
)
Subscription = merge_types("Subscription", (GenerationSubscription, CloneSubscription))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes (parse, validation, UserErrors) are not the server's problem and
        # their messages can echo the caller's input, prompts included: log only
        # unexpected exceptions, by type and traceback.
        for error in errors:
            if error.original_error is not None and is_outage(error.original_error):
                log.warning("service unavailable: %s", type(error.original_error).__name__)
            elif should_mask(error):
                log.error(
                    "unexpected error at %s",
                    ".".join(str(p) for p in error.path or ()),
                    exc_info=error.original_error,
                )


class ServerHooks(MaskErrors):
    """Every hook the server adds to an operation, in one extension.

    Strawberry instantiates each extension and enters one context manager per extension and
    per stage on every operation: with seven small extensions (validation rules, token
    limit, error masking, parse and validation caches, rate limit, usage log) that
    machinery cost more CPU than a `me` query's own resolvers. This one class does the same
    work, in the same order: the limits are set before parsing, the parse and validation
    of a document are cached (bounded LRU caches keyed by the document text, since
    integrations send the same few documents over and over), each authenticated operation
    is charged to the rate limits before it runs, and its usage row is queued before errors
    are masked (masking does not change whether there were errors), after errors caused by
    an outage became SERVICE_UNAVAILABLE (neurall.graphql.outages).
    """

    def __init__(
        self,
        *,
        validation_rules: tuple[type[ASTValidationRule], ...],
        max_tokens: int,
        parse: Callable[..., Any],
        validate: Callable[..., Any],
        log_operations: bool = False,
    ) -> None:
        super().__init__(should_mask_error=should_mask)
        self.validation_rules = validation_rules
        self.max_tokens = max_tokens
        self.parse = parse
        self.validate = validate
        self.log_operations = log_operations
        self.subscription: str | None = None

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context
        context.validation_rules = context.validation_rules + self.validation_rules
        context.parse_options["max_tokens"] = self.max_tokens
        # Strawberry's own masking, driven around the operation (a generator: up to its
        # yield now, the rest after the usage row).
        masking = MaskErrors.on_operation(self)
        next(masking)
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.subscription is not None:
                metrics.subscription_closed(self.subscription)
        await log_usage(context, started)
        # Before masking: an outage is not an unexpected error but SERVICE_UNAVAILABLE.
        replace_outage_errors(context)
        name, elapsed = metrics.record(context, started)
        if self.log_operations:
            # One line per operation (an access log): its name and duration, never its
            # variables or its document.
            log.info("graphql %s", name, extra={"duration_ms": round(elapsed * 1000, 3)})
        next(masking, None)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = self.parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = self.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context
        # Every line logged while it runs names it (a schema field name, never the
        # client's operationName: see neurall.graphql.metrics).
        OPERATION.set(metrics.operation_labels(context)[0])
        await limit_operation(context.context)
        self.subscription = metrics.subscription_opened(context)
        yield


def build_schema(settings: Settings) -> Schema:
    # The depth and alias limiters build a new validation-rule class per instance, and
    # the validation cache keys on the rule classes: a limiter per request made every
    # request a cache miss (validation was ~40% of a `me` request's CPU in the issue-8
    # profile). The rule classes are built once here.
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if settings.production:
        rules.append(NoSchemaIntrospectionCustomRule)  # what DisableIntrospection adds
    # A factory, not an instance: an extension keeps per-operation state. The caches are
    # Strawberry's own (shared LRU functions of ParserCache and ValidationCache).
    extensions: list = [
        partial(
            ServerHooks,
            validation_rules=tuple(rules),
            max_tokens=settings.graphql_max_tokens,
            parse=ParserCache().cached_parse_document,
            validate=ValidationCache().cached_validate_document,
            log_operations=settings.log_format == "json",
        )
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=ALL_ERROR_TYPES,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        execution_context_class=SharedEventExecutionContext,
    )
