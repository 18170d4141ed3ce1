"""The schema: one root type per domain module, merged, with the server's limits."""

from __future__ import annotations

import logging
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from neurall.config import Settings
from neurall.graphql.accounts import AccountMutation, AccountQuery
from neurall.graphql.api_keys import ApiKeyMutation, ApiKeyQuery
from neurall.graphql.billing import BillingMutation, BillingQuery
from neurall.graphql.clones import CloneMutation, CloneQuery, CloneSubscription
from neurall.graphql.errors import ALL_ERROR_TYPES, should_mask
from neurall.graphql.generation import (
    GenerationMutation,
    GenerationQuery,
    GenerationSubscription,
)
from neurall.graphql.history import HistoryMutation, HistoryQuery
from neurall.graphql.limits import RequestRateLimit
from neurall.graphql.privacy import PrivacyMutation, PrivacyQuery
from neurall.graphql.shared_events import SharedEventExecutionContext
from neurall.graphql.usage_log import UsageLogging
from neurall.graphql.webhooks import WebhookMutation, WebhookQuery

log = logging.getLogger("neurall.graphql")

Query = merge_types(
    "Query",
    (
        AccountQuery,
        ApiKeyQuery,
        GenerationQuery,
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
        ApiKeyMutation,
        GenerationMutation,
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
            if should_mask(error):
                log.error(
                    "unexpected error at %s",
                    ".".join(str(p) for p in error.path or ()),
                    exc_info=error.original_error,
                )


def build_schema(settings: Settings) -> Schema:
    # The depth and alias limiters build a new validation-rule class per instance, and
    # ValidationCache keys on the rule classes: a limiter per request made every request a
    # cache miss (validation was ~40% of a `me` request's CPU in the issue-8 profile). The
    # rule classes are built once here and added by one stateless extension instead.
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    extensions: list = [
        # Factories, not instances: extensions keep per-operation state.
        partial(AddValidationRules, limit_rules),
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
        partial(MaskErrors, should_mask_error=should_mask),
        # Integrations send the same few documents over and over: parse and validate each
        # once (bounded LRU caches keyed by the document text).
        ParserCache,
        ValidationCache,
        # Per API key and per account, on every authenticated operation.
        RequestRateLimit,
        # One usage log row per API-key operation (never its variables).
        UsageLogging,
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=ALL_ERROR_TYPES,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        execution_context_class=SharedEventExecutionContext,
    )
