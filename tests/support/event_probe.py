"""A test subscriber and a relay run in a process of its own, to be killed mid-relay.

``Probe`` writes one outbox row (kind ``test.probe``) per event it handles, in the relay's
transaction, so its committed effects can be counted per event, and notes every hand-on
in a log file (at least once: a hand-on whose transaction died is noted too). Given
``stall_at``, it stalls inside that hand-on's transaction, after writing its row, and
writes ``<log>.stalled``: the moment to SIGKILL the process.

Run as ``python -m tests.support.event_probe DATABASE_URL LOG STALL_AT``: it relays every
waiting event to a ``Probe`` and exits.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from neurall.events import relay
from neurall.events.subscriber import AfterCommit
from neurall.events.types import EventType
from neurall.orm import database
from neurall.orm.events import DomainEvent
from neurall.orm.mail import OutboxMessage

PROBE_KIND = "test.probe"


class Probe:
    name = "probe"
    types = frozenset(EventType)

    def __init__(self, log: Path, stall_at: int | None = None) -> None:
        self.log = log
        self.stall_at = stall_at
        self.handed = 0

    async def handle(self, event: DomainEvent, event_type: EventType) -> AfterCommit | None:
        self.handed += 1
        await asyncio.to_thread(
            _append, self.log, f"{event.id} {event_type.name} {event.subject_id}"
        )
        await OutboxMessage.create(
            kind=PROBE_KIND, to_address="probe@example.com", params={"event": str(event.id)}
        )
        if self.handed == self.stall_at:
            await asyncio.to_thread(Path(f"{self.log}.stalled").write_text, str(event.id))
            await asyncio.Event().wait()  # until killed
        return None

    async def wants(self, account_id: uuid.UUID, event_type: EventType) -> bool:
        return True


def _append(log: Path, line: str) -> None:
    with log.open("a") as out:
        out.write(line + "\n")


def handed_on(log: Path) -> list[str]:
    """The event ids the probe was handed, in order, repeats included."""
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


async def relay_all(probe: Probe) -> None:
    """Relay every waiting event to the probe, oldest first."""
    while waiting := await DomainEvent.all().order_by("occurred_at", "id").first():
        if not await relay.relay(waiting.id, [probe]):
            raise RuntimeError(f"event {waiting.id} is held by another relay")


async def _main(database_url: str, log: str, stall_at: str) -> None:
    async with database.database(database_url):
        await relay_all(Probe(Path(log), int(stall_at)))


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))
