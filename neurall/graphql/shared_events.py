"""One execution per subscription event, shared by every subscriber with the same document.

An API process fans each bus event out to every local subscription of its job (the playground
and an integrator, or a dashboard with many viewers). Strawberry then executes the
subscription's selection once per subscriber per event, and that execution was half of the
process's CPU in the issue-8 fan-out profile. The selection of an event depends only on the
event object, the document and the variables (``JobEvent`` is plain data: no resolver reads
the viewer, and every subscriber of a job was authorized for it when it subscribed), so the
result is computed once and handed to each subscriber.

Sharing is by identity: the subscription resolver yields one GraphQL object per bus event
(``shared_object``), and the parser cache gives one document per query text. A subscription
whose resolver yields its own objects (``cloneEvents``, the first snapshot of ``jobEvents``)
is executed per subscriber as before. Both caches are small and first-in-first-out: an
event's subscribers are served within one burst.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from graphql import ExecutionResult, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

K = TypeVar("K")
V = TypeVar("V")

# An event's local subscribers run within one burst; an entry may hold a PREVIEW's data: URL
# (a few KB), so the caches stay small.
CACHE_ENTRIES = 512


class IdentityCache(Generic[K, V]):
    """Values stored per object identity and a hashable extra key.

    An entry holds its object (and whatever its value holds), so an ``id`` cannot be reused
    by another object while the entry lives; the oldest entries are dropped beyond ``size``.
    """

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, Hashable], tuple[K, V]] = OrderedDict()

    def lookup(self, obj: K, extra: Hashable = None) -> V | None:
        entry = self._entries.get((id(obj), extra))
        return entry[1] if entry is not None and entry[0] is obj else None

    def store(self, obj: K, value: V, extra: Hashable = None) -> None:
        self._entries[(id(obj), extra)] = (obj, value)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


_objects: IdentityCache[Any, Any] = IdentityCache()
_results: IdentityCache[Any, tuple[Any, ExecutionResult]] = IdentityCache()


def shared_object(event: Any, convert: Callable[[], V]) -> V:
    """The GraphQL object of a bus event, built once for all its subscribers."""
    converted = _objects.lookup(event)
    if converted is None:
        converted = convert()
        _objects.store(event, converted)
    return converted


class SharedEventExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Executes a subscription event once per (event object, document, variables)."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        if self.operation.operation is not OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        # The document by identity: the parser cache hands out one per query text. The
        # entry keeps the operation, so its id cannot be reused while the entry lives.
        variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
        extra = (id(self.operation), variables)
        shared = _results.lookup(self.root_value, extra)
        if shared is not None and shared[0] is self.operation:
            return shared[1]
        result = super().execute_operation(serially)
        # Only finished results are shared: an awaitable can be awaited once.
        if isinstance(result, ExecutionResult):
            _results.store(self.root_value, (self.operation, result), extra)
        return result
