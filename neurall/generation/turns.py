"""Whose turn it is: which waiting job a free worker starts next, and where each waiting job
stands in line.

A generation message is a turn, not an order. The worker that receives one starts the job
this module picks, whichever job the message names: the broker (the StubBroker or
RabbitMQ, first in, first out either way) only counts turns, one per job sent, and the
database decides whose turn it is. So fairness works the same on both brokers, needs no
dispatcher process and no priority queue, and keeps their guarantees: every job sent is
one more turn, a lost turn is one the reaper's lost-message re-send makes up (it compares
counts: how many jobs wait against how many messages do), a turn left over finds nothing
to start and is dropped, and a message handled again takes over the run it started
(``Job.started_by``, neurall.workers.generation).

The rule (NEURALL_QUEUE_ORDER=fair):

1. Two lanes. A STANDARD job starts whenever one waits; a BATCH job only when none does,
   so a BATCH job never starts while a STANDARD job waits for its model (nor for another:
   every worker serves every model). A running job is never preempted.
2. Within a lane, the next job comes from the waiting account with the fewest jobs of that
   lane started in the last NEURALL_FAIR_SHARE_WINDOW_S; ties go to the account whose
   last start is oldest (never started first), then to the one whose oldest waiting job
   is oldest. It is that account's oldest waiting job.

``fifo`` (the benchmark's baseline) takes the lane's oldest job instead.

A job's queue position is how many jobs start before it if nothing new arrives: for a
STANDARD job, its place in its lane; for a BATCH job, every waiting STANDARD job plus its
place in its lane. New arrivals and starts leaving the window move it, and the events say
so (``lifecycle.announce_positions``).
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.functions import Count, Max, Min
from tortoise.queryset import QuerySet

from neurall.clock import now
from neurall.orm.jobs import Job, JobPriority, JobStatus

Order = Literal["fair", "fifo"]
LANES = (JobPriority.STANDARD, JobPriority.BATCH)
# Before any start: an account that never started a job sorts first among its level.
_NEVER = datetime.min.replace(tzinfo=UTC)
# The first waiting jobs are put in order from at most this many of each lane (oldest
# first); a lane longer than that (thousands of BATCH jobs) may leave out of the
# announcements a job that moved near the front, which learns its place when asked.
ANNOUNCE_SCAN = 2000


@dataclass(frozen=True)
class QueueRule:
    order: Order = "fair"
    window_s: float = 600.0


# One rule per process, set from its settings where its generation runtime is built
# (``use``): positions are computed deep in job transitions, which know no settings.
_rule = QueueRule()


def use(rule: QueueRule) -> None:
    global _rule
    _rule = rule


def rule() -> QueueRule:
    return _rule


@dataclass
class Account:
    """One account's place in one lane: its waiting jobs and its recent starts."""

    account_id: uuid.UUID
    queued: int
    oldest: datetime
    started: int = 0
    last: datetime | None = None

    def tie_key(self) -> tuple[datetime, datetime, str]:
        return (self.last or _NEVER, self.oldest, str(self.account_id))


async def lane(priority: JobPriority, *, startable_only: bool = False) -> dict[uuid.UUID, Account]:
    """The accounts waiting in ``priority``'s lane. ``startable_only``: leave out jobs
    accepted while the broker was down (their turn has not been sent yet: started by
    another job's turn, they would leave that job without one)."""
    waiting = Job.filter(status=JobStatus.QUEUED, priority=priority)
    if startable_only:
        waiting = waiting.filter(dispatch_pending=False)
    rows = (
        await waiting.annotate(queued=Count("id"), oldest=Min("created_at"))
        .group_by("account_id")
        .values("account_id", "queued", "oldest")
    )
    accounts = {
        r["account_id"]: Account(r["account_id"], int(r["queued"]), _aware(r["oldest"]))
        for r in rows
    }
    await _count_starts(accounts, priority)
    return accounts


async def _count_starts(accounts: dict[uuid.UUID, Account], priority: JobPriority) -> None:
    """Each account's starts in the lane within the window, and its last one (fair only)."""
    if accounts and _rule.order == "fair":
        cutoff = now() - timedelta(seconds=_rule.window_s)
        starts = (
            await Job.filter(
                priority=priority, started_at__gte=cutoff, account_id__in=list(accounts)
            )
            .annotate(started=Count("id"), last=Max("started_at"))
            .group_by("account_id")
            .values("account_id", "started", "last")
        )
        for r in starts:
            accounts[r["account_id"]].started = int(r["started"])
            accounts[r["account_id"]].last = _aware(r["last"])


def _aware(value: datetime | str | None) -> datetime:
    # SQLite hands aggregates back as text (and naive); PostgreSQL as aware datetimes.
    if value is None:
        return _NEVER
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _lane_jobs(priority: JobPriority) -> QuerySet[Job]:
    return Job.filter(status=JobStatus.QUEUED, priority=priority).order_by("created_at", "id")


async def next_job(skip: Iterable[uuid.UUID] = ()) -> Job | None:
    """The job the rule starts now (leaving out ``skip``), or None when nothing waits.
    Not a claim: the caller starts it with a guarded transition, and picks again when
    another worker was faster."""
    skipped = list(skip)
    for priority in LANES:
        waiting = Job.filter(status=JobStatus.QUEUED, priority=priority, dispatch_pending=False)
        if skipped:
            waiting = waiting.exclude(id__in=skipped)
        if _rule.order == "fifo":
            job = await waiting.order_by("created_at", "id").first()
            if job is not None:
                return job
            continue
        accounts = await lane(priority, startable_only=True)
        for account in sorted(accounts.values(), key=lambda a: (a.started, *a.tie_key())):
            job = (
                await waiting.filter(account_id=account.account_id)
                .order_by("created_at", "id")
                .first()
            )
            if job is not None:  # None: all of its jobs are in ``skip``
                return job
    return None


def fair_position(accounts: dict[uuid.UUID, Account], account_id: uuid.UUID, k: int) -> int:
    """How many of the lane's jobs start before the ``k``-th (from 0) waiting job of
    ``account_id``, under the fair rule with nothing new arriving.

    Each pick raises the picked account's count by one, so the lane runs in levels: the
    account's ``k``-th job goes at level ``L = started + k``. Every other account with
    ``started = n`` and ``queued = q`` goes before it at each of its levels below ``L``
    (``clamp(L - n, 0, q)`` picks), and at level ``L`` too if it comes first there. At a
    level, accounts that start there (their real last start) come before those that
    climbed to it by picks (a later last start); of those, the one that reached the level
    before below, that is the higher starting count. ``simulate`` is the literal rule,
    and a test holds the two together."""
    own = accounts[account_id]
    level = own.started + k
    own_key = (-own.started, *own.tie_key())
    position = k
    for other in accounts.values():
        if other is own:
            continue
        position += min(max(level - other.started, 0), other.queued)
        at_level = other.started <= level < other.started + other.queued
        if at_level and (-other.started, *other.tie_key()) < own_key:
            position += 1
    return position


def simulate(accounts: dict[uuid.UUID, Account], limit: int) -> list[tuple[uuid.UUID, int]]:
    """The first ``limit`` picks of the fair rule, as (account, its k-th job)."""
    counter = itertools.count()
    # Sort key: (starts, was picked here, last start or pick order, oldest, id).
    heap = [(a.started, 0, *a.tie_key(), 0, a.account_id) for a in accounts.values()]
    heapq.heapify(heap)
    taken: dict[uuid.UUID, int] = {}
    order: list[tuple[uuid.UUID, int]] = []
    while heap and len(order) < limit:
        started, *_ties, account_id = heapq.heappop(heap)
        k = taken.get(account_id, 0)
        order.append((account_id, k))
        taken[account_id] = k + 1
        if k + 1 < accounts[account_id].queued:
            # A pick now: later than any real start, after every earlier pick.
            heapq.heappush(heap, (started + 1, 1, _NEVER, _NEVER, "", next(counter), account_id))
    return order


async def positions(jobs: Sequence[Job]) -> dict[uuid.UUID, int]:
    """The queue position of each QUEUED job of ``jobs`` (a few queries per lane, whatever
    their number)."""
    queued = [j for j in jobs if j.status == JobStatus.QUEUED]
    if not queued:
        return {}
    standard = await Job.filter(status=JobStatus.QUEUED, priority=JobPriority.STANDARD).count()
    result: dict[uuid.UUID, int] = {}
    for priority in LANES:
        ours = [j for j in queued if j.priority == priority]
        if not ours:
            continue
        ahead = standard if priority == JobPriority.BATCH else 0
        if _rule.order == "fifo":
            for job in ours:
                before = await _lane_jobs(priority).filter(created_at__lt=job.created_at).count()
                result[job.id] = ahead + before
            continue
        accounts = await lane(priority)
        for account_id in {j.account_id for j in ours}:
            mine = (
                await _lane_jobs(priority)
                .filter(account_id=account_id)
                .values_list("id", flat=True)
            )
            place = {job_id: k for k, job_id in enumerate(mine)}
            for job in ours:
                if job.account_id == account_id and job.id in place and account_id in accounts:
                    result[job.id] = ahead + fair_position(accounts, account_id, place[job.id])
    return result


async def first_waiting(limit: int) -> list[tuple[uuid.UUID, int]]:
    """The first ``limit`` waiting jobs in the order they will start: (job id, position)."""
    order: list[uuid.UUID] = []
    for priority in LANES:
        if len(order) >= limit:
            break
        if _rule.order == "fifo":
            order += (
                await _lane_jobs(priority).limit(limit - len(order)).values_list("id", flat=True)
            )
            continue
        rows = (
            await _lane_jobs(priority)
            .limit(ANNOUNCE_SCAN)
            .values_list("id", "account_id", "created_at")
        )
        # The accounts from the rows themselves (oldest first): one query fewer per start.
        by_account: dict[uuid.UUID, list[uuid.UUID]] = {}
        accounts: dict[uuid.UUID, Account] = {}
        for job_id, account_id, created_at in rows:
            by_account.setdefault(account_id, []).append(job_id)
            if account_id not in accounts:
                accounts[account_id] = Account(account_id, 0, _aware(created_at))
            accounts[account_id].queued += 1
        await _count_starts(accounts, priority)
        picks = simulate(accounts, limit - len(order))
        order += [by_account[account_id][k] for account_id, k in picks]
    return [(job_id, position) for position, job_id in enumerate(order)]
