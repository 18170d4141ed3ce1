"""Reading and deleting an account's playground history.

A history item is a PLAYGROUND job (its id is the job's id). Deleting one removes the job
row, its image rows and its image files; a job still queued or running is cancelled first,
so its held credits are settled (charged for finished steps, the rest released) before it
goes. The ledger keeps its entries: they name the job only by id.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable

from neurall.errors import ConflictError, NotFoundError
from neurall.generation import service as generation
from neurall.generation.lifecycle import ACTIVE
from neurall.generation.runtime import GenerationRuntime
from neurall.ids import parse_id
from neurall.orm.accounts import Account
from neurall.orm.jobs import Job, JobSource
from neurall.orm.pages import newest_first
from neurall.storage import Storage

log = logging.getLogger(__name__)


def job_image_prefix(job_id: uuid.UUID) -> str:
    """Where a job's image files live in storage (see neurall.workers.generation)."""
    return f"images/{job_id}"


async def history_page(
    account_id: uuid.UUID, first: int, after: str | None
) -> tuple[list[Job], bool]:
    """Up to ``first`` PLAYGROUND jobs after the cursor ``after``, newest first, and
    whether more follow."""
    query = Job.filter(account_id=account_id, source=JobSource.PLAYGROUND)
    return await newest_first(query, first, after)


async def delete_jobs(
    account: Account, jobs: Iterable[Job], runtime: GenerationRuntime, storage: Storage
) -> int:
    """Delete these jobs of ``account`` with their images (rows and files); returns how
    many went. Active jobs are cancelled first so their credits are settled."""
    ids: list[uuid.UUID] = []
    for job in jobs:
        if job.status in ACTIVE:
            # ConflictError: it ended meanwhile, settled by its worker.
            with contextlib.suppress(ConflictError):
                await generation.cancel(account, str(job.id), runtime)
        ids.append(job.id)
    if not ids:
        return 0
    # Rows first (job_image cascades): once they are gone nothing serves the files, and a
    # worker finishing meanwhile finds no job and removes what it wrote.
    # (Counted first: some backends count the cascaded image rows in a delete's result.)
    query = Job.filter(account_id=account.id, id__in=ids)
    deleted = await query.count()
    await query.delete()
    for job_id in ids:
        await storage.delete_prefix(job_image_prefix(job_id))
    return deleted


async def delete_history_item(
    account: Account, item_id: str, runtime: GenerationRuntime, storage: Storage
) -> int:
    """Delete one history item; NotFound unless it is one of the caller's PLAYGROUND jobs."""
    parsed = parse_id(item_id)
    job = (
        await Job.get_or_none(id=parsed, account_id=account.id, source=JobSource.PLAYGROUND)
        if parsed is not None
        else None
    )
    if job is None:
        raise NotFoundError()
    return await delete_jobs(account, [job], runtime, storage)


async def clear_history(account: Account, runtime: GenerationRuntime, storage: Storage) -> int:
    """Delete every PLAYGROUND job of the account; returns how many went."""
    jobs = await Job.filter(account_id=account.id, source=JobSource.PLAYGROUND)
    return await delete_jobs(account, jobs, runtime, storage)
