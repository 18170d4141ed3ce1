"""Per-request usage logs of API keys, and their per-day totals.

One row per operation an API key makes: which key, which root fields, how long, credits
and images it reserved, whether it failed, and the client's IP and user agent (for
security and billing questions). Never the operation's variables or any payload: the row
is written from what the server measured, not from what the client sent.

Rows are written in batches by ``UsageLogBuffer`` (one per app, on ``Services``): a commit
per row was the largest cost of an API request on SQLite. docs/usage-log.md says what a
crash can lose.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import timezone

from neurall.errors import InvalidInputError
from neurall.orm.billing import LedgerEntry
from neurall.orm.privacy import UsageLog

if TYPE_CHECKING:
    from neurall.config import Settings

log = logging.getLogger(__name__)

MAX_USAGE_DAYS = 366
_MAX_OPERATION = 100
_MAX_USER_AGENT = 256


@dataclass(frozen=True)
class UsageDay:
    day: str  # YYYY-MM-DD, UTC
    requests: int
    images: int
    credits: int


def usage_row(
    *,
    account_id: uuid.UUID,
    api_key_id: uuid.UUID | None,
    operation: str,
    duration_ms: int,
    ok: bool,
    ip: str,
    user_agent: str,
    ledger_reference: str | None = None,
    images: int = 0,
    model: str | None = None,
) -> UsageLog:
    """The row of one operation, not yet saved, stamped with the time it ended (not the
    time its batch is written). ``ledger_reference`` names the work the operation created
    ("job:<id>"), None for an operation (or an idempotent replay) that created none;
    ``model`` the catalog id that work runs on."""
    return UsageLog(
        account_id=account_id,
        api_key_id=api_key_id,
        operation=operation[:_MAX_OPERATION],
        duration_ms=max(0, duration_ms),
        ledger_reference=ledger_reference,
        images=images,
        model=model,
        status="ok" if ok else "error",
        ip=ip[:64],
        user_agent=user_agent[:_MAX_USER_AGENT],
        created_at=timezone.now(),
    )


class UsageLogBuffer:
    """Usage rows waiting in memory, written in one insert per batch.

    A batch is written ``flush_interval_s`` after its first row arrived, as soon as
    ``flush_rows`` wait, on ``flush()`` (readers that must see every row so far call it)
    and on ``close()``. At most ``max_rows`` wait: a request that finds the buffer full
    writes the batch itself before adding its row (backpressure, never a dropped row).
    Rows that fail to be written stay and are retried after an interval.

    Before ``start()`` and after ``close()`` every row is written as it is added, so a row
    that arrives while the app stops is not lost. Owned by the app's ``Services``; the app's
    cleanup context starts it and closes it before the database closes.
    """

    def __init__(self, *, flush_interval_s: float, flush_rows: int, max_rows: int) -> None:
        if flush_interval_s <= 0 or flush_rows < 1 or max_rows < flush_rows:
            raise ValueError("need flush_interval_s > 0 and 1 <= flush_rows <= max_rows")
        self.flush_interval_s = flush_interval_s
        self.flush_rows = flush_rows
        self.max_rows = max_rows
        self._pending: list[UsageLog] = []
        # One insert at a time: a row is removed only once its batch is committed.
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @classmethod
    def from_settings(cls, settings: Settings) -> UsageLogBuffer:
        return cls(
            flush_interval_s=settings.usage_flush_interval_ms / 1000,
            flush_rows=settings.usage_flush_rows,
            max_rows=max(settings.usage_buffer_rows, settings.usage_flush_rows),
        )

    @property
    def pending(self) -> int:
        """Rows waiting to be written."""
        return len(self._pending)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._stopping

    def start(self) -> None:
        """Start the background writer (on the running loop)."""
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-log-writer")
        self._arm()

    async def close(self) -> None:
        """Stop the writer after its current batch, then write every row still waiting."""
        task = self._task
        self._stopping = True
        self._disarm()
        if task is not None:
            # Not cancelled: a batch cut off mid-insert might be committed and written again.
            self._wake.set()
            await task
            self._task = None
        await self.flush()

    async def add(self, row: UsageLog) -> None:
        """Queue the row of one operation (made by ``usage_row``)."""
        while len(self._pending) >= self.max_rows:
            # Full (the database is slow or down): this request writes the batch itself.
            await self.flush()
        self._pending.append(row)
        if not self.running:
            await self.flush()
        elif len(self._pending) >= self.flush_rows:
            self._wake.set()
        else:
            self._arm()

    async def flush(self) -> int:
        """Write every waiting row in one insert; returns how many. On failure the rows
        stay in the buffer and the exception propagates."""
        async with self._lock:
            batch = self._pending[:]
            if not batch:
                return 0
            await UsageLog.bulk_create(batch)
            # Rows added during the insert stay, behind the ones just written.
            del self._pending[: len(batch)]
            self._disarm()
            self._arm()
            return len(batch)

    async def discard_account(self, account_id: uuid.UUID) -> int:
        """Drop the waiting rows of an erased account; returns how many."""
        async with self._lock:
            kept = [row for row in self._pending if row.account_id != account_id]
            dropped = len(self._pending) - len(kept)
            self._pending[:] = kept
            return dropped

    def _arm(self) -> None:
        # The first row of a batch starts the clock; later ones wait less than an interval.
        if self._timer is None and self._pending and self.running:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.flush_interval_s, self._fire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                break  # close() writes what is left
            try:
                await self.flush()
            except Exception as exc:
                # Kept and retried after an interval. Only the count and the error's type go
                # to the log: a database error's message can quote a row's values (IP
                # addresses, user agents).
                log.error(
                    "could not write %d usage rows (%s); retrying",
                    len(self._pending),
                    type(exc).__name__,
                )
                self._arm()


async def usage_days(
    account_id: uuid.UUID, since: datetime, until: datetime | None, now: datetime
) -> list[UsageDay]:
    """Per-day totals (UTC days, oldest first, days without requests left out) of the
    account's usage logs in [since, until). At most MAX_USAGE_DAYS days at once.

    Credits are what the requests' work was charged, read from the ledger: a job canceled
    before it ran counts 0, one still running counts what it has been charged so far (0).
    """
    until = until or now
    if until < since:
        raise InvalidInputError("The end must not be before the start.", ["until"])
    if until - since > timedelta(days=MAX_USAGE_DAYS):
        raise InvalidInputError(f"At most {MAX_USAGE_DAYS} days at once.", ["since"])
    rows = await UsageLog.filter(
        account_id=account_id, created_at__gte=since, created_at__lt=until
    ).values_list("created_at", "images", "ledger_reference")
    charged = await _charged(account_id, {ref for *_, ref in rows if ref is not None})
    totals: dict[str, list[int]] = {}
    for created_at, images, reference in rows:
        day = totals.setdefault(created_at.date().isoformat(), [0, 0, 0])
        day[0] += 1
        day[1] += images
        day[2] += charged.get(reference, 0) if reference is not None else 0
    return [UsageDay(day, *values) for day, values in sorted(totals.items())]


async def _charged(account_id: uuid.UUID, references: set[str]) -> dict[str, int]:
    """Credits charged under each ledger reference (CHARGE entries carry minus the amount)."""
    if not references:
        return {}
    rows = await LedgerEntry.filter(
        account_id=account_id, kind="CHARGE", reference__in=list(references)
    ).values_list("reference", "amount")
    charged: dict[str, int] = {}
    for reference, amount in rows:
        charged[reference] = charged.get(reference, 0) - amount
    return charged
