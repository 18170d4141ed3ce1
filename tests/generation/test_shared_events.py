"""Subscribers of one job share each event's execution (neurall/graphql/shared_events.py):
over real sockets, each still gets exactly its own selection and its own afterSeq."""

from __future__ import annotations

import pytest
from graphql import OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from neurall.config import Settings
from neurall.graphql.shared_events import IdentityCache
from tests.support.events import ws_stream
from tests.support.factories import create_key, generate, sign_up
from tests.support.graphql import CANCEL, EVENTS_WITH_PREVIEW, base
from tests.support.jobs import wait_status
from tests.support.runtime import generation_settings

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def settings(tmp_path, database_url, tiny_models) -> Settings:
    # A preview every 2 denoising steps.
    return generation_settings(tmp_path / "data", database_url, tiny_models, preview_every_steps=2)


NARROW = """
subscription($jobId: ID!, $afterSeq: Int) {
  jobEvents(jobId: $jobId, afterSeq: $afterSeq) { seq type }
}
"""


async def test_subscribers_of_one_job_get_their_own_selection(client):
    await sign_up(client)
    key = await create_key(client)
    running = await generate(client, key, steps=150, width=72, height=64)  # holds the worker
    # Running before the next job is queued: its start would otherwise move that job's
    # queue position (a new seq) between the subscriptions below.
    holder = await ws_stream(base(client), api_key=key).open(running["id"])
    try:
        while (await holder.next())["event"]["type"] in ("QUEUED", "POSITION"):
            pass
    finally:
        await holder.close()
    job = await generate(client, key, steps=4)
    wide = await ws_stream(base(client), api_key=key).open(job["id"], query=EVENTS_WITH_PREVIEW)
    narrow = await ws_stream(base(client), api_key=key).open(job["id"], query=NARROW)
    twin = await ws_stream(base(client), api_key=key).open(job["id"], query=NARROW)
    streams = [wide, narrow, twin]
    try:
        # Each subscription is live once it got its snapshot, all before the job starts.
        snapshots = [(await s.next())["event"] for s in streams]
        assert {e["type"] for e in snapshots} <= {"QUEUED", "POSITION"}
        # The same document with other variables: afterSeq just below the snapshot.
        after = snapshots[1]["seq"] - 1
        late = await ws_stream(base(client), api_key=key).open(job["id"], after, query=NARROW)
        streams.append(late)
        snapshots.append((await late.next())["event"])
        await client.data(CANCEL, {"id": running["id"]}, api_key=key)
        ends = [await s.until_end() for s in streams]
    finally:
        for s in streams:
            await s.close()
    wide_events, narrow_events, twin_events, late_events = (
        [snapshot, *rest] for snapshot, rest in zip(snapshots, ends, strict=True)
    )
    wide_fields = {"seq", "type", "status", "queuePosition", "step", "totalSteps", "progress",
                   "preview", "images"}  # fmt: skip
    assert all(set(e) == wide_fields for e in wide_events)
    assert any(e["type"] == "PREVIEW" and e["preview"]["url"] for e in wide_events)
    assert wide_events[-1]["type"] == "SUCCEEDED"
    # Every selection got every event, in order, whichever subscriber executed it first.
    narrow_view = [{"seq": e["seq"], "type": e["type"]} for e in wide_events]
    assert narrow_events == narrow_view
    assert twin_events == narrow_view
    assert late_events == narrow_view


class Event:
    """Compared by value, like the bus's events: the cache must still tell two apart."""

    def __init__(self, seq: int) -> None:
        self.seq = seq

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other.seq == self.seq

    __hash__ = None  # type: ignore[assignment]


def test_identity_cache_tells_equal_objects_apart_and_forgets_the_oldest():
    cache: IdentityCache[Event, str] = IdentityCache(size=2)
    first, equal = Event(1), Event(1)
    cache.store(first, "first")
    assert cache.lookup(first) == "first"
    assert cache.lookup(equal) is None  # equal, but another event
    assert cache.lookup(first, extra="other document") is None
    cache.store(equal, "equal")
    cache.store(Event(2), "two")  # beyond size: the oldest entry goes
    assert cache.lookup(first) is None
    assert cache.lookup(equal) == "equal"


async def test_one_execution_per_event_for_subscribers_of_one_document(client, monkeypatch):
    executed: list[int] = []
    parent = StrawberryGraphQLCoreExecutionContext.execute_operation

    def counting(self, serially=None):
        if self.operation.operation is OperationType.SUBSCRIPTION:
            executed.append(id(self.root_value))
        return parent(self, serially)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", counting)
    await sign_up(client)
    key = await create_key(client)
    running = await generate(client, key, steps=150, width=72, height=64)  # holds the worker
    # Running before the next job is queued: its start would otherwise move that job's
    # queue position (a new seq) between the subscriptions below.
    await wait_status(client, running["id"], "RUNNING", key)
    job = await generate(client, key, steps=4)
    streams = [await ws_stream(base(client), api_key=key).open(job["id"], query=NARROW)
               for _ in range(3)]  # fmt: skip
    try:
        for s in streams:
            await s.next()  # the snapshot: each subscriber's own row read and execution
        executed.clear()
        await client.data(CANCEL, {"id": running["id"]}, api_key=key)
        ends = [await s.until_end() for s in streams]
    finally:
        for s in streams:
            await s.close()
    live_events = len(ends[0])
    assert live_events >= 5  # STARTED, 4 x PROGRESS, SUCCEEDED at least
    assert ends[1] == ends[0]
    assert ends[2] == ends[0]
    # Three subscribers, one execution per event.
    assert len(executed) == live_events
    assert len(set(executed)) == live_events
