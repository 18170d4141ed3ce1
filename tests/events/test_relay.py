"""The relay: every committed event reaches every subscriber once, in order per subject;
an event whose transaction rolled back never does; a relay killed mid-way (SIGKILL, in a
process of its own) leaves nothing done twice.

The relay runs here without a broker (neurall.events.relay is what the ``relay_events``
actor calls); the end-to-end paths through the real queues are the webhook and notice
tests, which now go through it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from neurall import events
from neurall.events import relay
from neurall.events.subscriber import AfterCommit
from neurall.events.types import EventType
from neurall.orm.events import DomainEvent
from neurall.orm.mail import OutboxMessage
from tests.support.event_probe import PROBE_KIND, Probe, handed_on, relay_all
from tests.support.poll import until

pytestmark = pytest.mark.usefixtures("db")

REPOSITORY = Path(__file__).resolve().parents[2]


async def _one_of_each(subjects: int = 3) -> list[uuid.UUID]:
    """Every event type, spread over a few subjects; the ids in the order recorded."""
    subject_ids = [uuid.uuid4() for _ in range(subjects)]
    account_id = uuid.uuid4()
    ids = []
    for index, event_type in enumerate(EventType):
        ids.append(
            await events.record(
                event_type,
                subject_id=subject_ids[index % subjects],
                account_id=account_id,
                payload={"step": index},
            )
        )
    return ids


async def _probe_counts() -> Counter[str]:
    rows = await OutboxMessage.filter(kind=PROBE_KIND).values_list("params", flat=True)
    return Counter(str(params["event"]) for params in rows)  # type: ignore[index]


async def test_every_event_type_reaches_a_subscriber_once_in_order_per_subject(tmp_path: Path):
    recorded = await _one_of_each()
    probe = Probe(tmp_path / "probe.log")
    await relay_all(probe)
    # A second wake-up of each (a redelivered message) finds nothing left to do.
    assert [await relay.relay(event_id, [probe]) for event_id in recorded] == [0] * len(recorded)
    seen = handed_on(tmp_path / "probe.log")
    assert sorted(seen) == sorted(map(str, recorded))
    assert {line.split()[1] for line in (tmp_path / "probe.log").read_text().splitlines()} == {
        t.name for t in EventType
    }
    assert set((await _probe_counts()).values()) == {1}
    assert await DomainEvent.all().count() == 0
    by_subject: dict[str, list[str]] = {}
    for line in (tmp_path / "probe.log").read_text().splitlines():
        event_id, _, subject = line.split()
        by_subject.setdefault(subject, []).append(event_id)
    for in_order in by_subject.values():
        assert in_order == [str(i) for i in recorded if str(i) in in_order]


async def test_relaying_one_event_relays_its_subjects_earlier_events_first(tmp_path: Path):
    subject = uuid.uuid4()
    first = await events.record(EventType.JOB_STARTED, subject_id=subject, account_id=None)
    last = await events.record(EventType.JOB_SUCCEEDED, subject_id=subject, account_id=None)
    other = await events.record(EventType.JOB_STARTED, subject_id=uuid.uuid4(), account_id=None)
    probe = Probe(tmp_path / "probe.log")
    assert await relay.relay(last, [probe]) == 2
    assert handed_on(tmp_path / "probe.log") == [str(first), str(last)]
    assert await DomainEvent.filter(id=other).exists()  # another subject's: not this relay's


async def test_an_event_of_a_rolled_back_transaction_is_never_relayed(tmp_path: Path):
    class Undone(Exception):
        pass

    async def undone() -> None:
        async with events.announcing(), in_transaction():
            await events.record(
                EventType.PASSWORD_CHANGED, subject_id=uuid.uuid4(), account_id=None
            )
            raise Undone

    with pytest.raises(Undone):
        await undone()
    kept = await events.record(EventType.API_KEY_CREATED, subject_id=uuid.uuid4(), account_id=None)
    probe = Probe(tmp_path / "probe.log")
    await relay_all(probe)
    assert handed_on(tmp_path / "probe.log") == [str(kept)]


async def test_a_subscriber_that_handled_an_event_is_skipped_when_it_comes_again(tmp_path: Path):
    """A relay that died between two subscribers: the next one resumes with the second."""

    class Failing:
        name = "failing"
        types = frozenset(EventType)
        calls = 0

        async def handle(self, event: DomainEvent, event_type: EventType) -> AfterCommit | None:
            Failing.calls += 1
            if Failing.calls == 1:
                raise RuntimeError("died here")
            return None

        async def wants(self, account_id: uuid.UUID, event_type: EventType) -> bool:
            return False

    event_id = await events.record(EventType.CREDITS_LOW, subject_id=uuid.uuid4(), account_id=None)
    probe = Probe(tmp_path / "probe.log")
    with pytest.raises(RuntimeError):
        await relay.relay(event_id, [probe, Failing()])
    await DomainEvent.filter(id=event_id).update(claimed_until=None)  # the claim lapsed
    assert await relay.relay(event_id, [probe, Failing()]) == 1
    assert (Failing.calls, handed_on(tmp_path / "probe.log")) == (2, [str(event_id)])


async def test_a_relay_killed_mid_event_leaves_each_event_handled_exactly_once(
    db: str, tmp_path: Path
):
    """SIGKILL while the probe is inside the third event's transaction (its row written,
    not committed): after the claim lapses another relay hands that event on again, and
    every event ends with exactly one committed effect."""
    recorded = await _one_of_each()
    log = tmp_path / "probe.log"
    child = subprocess.Popen(  # noqa: ASYNC220 - killed below, never waited on long
        [sys.executable, "-m", "tests.support.event_probe", db, str(log), "3"],
        cwd=REPOSITORY,
    )
    try:
        await until(lambda: Path(f"{log}.stalled").exists(), within=60, what="the stall")
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait, 30)
    finally:
        if child.poll() is None:
            child.kill()
    stalled = await asyncio.to_thread(Path(f"{log}.stalled").read_text)
    assert (await _probe_counts())[stalled] == 0  # its transaction died with the process
    # The dead relay's claim lapses after relay.CLAIM_S; here it is made to lapse now.
    await DomainEvent.filter(id=stalled).update(claimed_until=None)
    await relay_all(Probe(log))
    seen = Counter(handed_on(log))
    assert seen[stalled] == 2  # handed on at least once: twice here
    assert set(seen) == set(map(str, recorded))
    counts = await _probe_counts()
    assert set(counts) == set(map(str, recorded))
    assert set(counts.values()) == {1}
    assert await DomainEvent.all().count() == 0
