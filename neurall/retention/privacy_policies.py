"""The privacy retention policies: API results, usage logs, exports, uploads, orphans.

Each is one bulk delete (rows in one statement, then the files they named) and returns how
many records or blobs it removed, from the database and the storage every process shares.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tortoise.expressions import Q

from neurall.orm.clones import ACTIVE_CLONE_STATUSES, Clone
from neurall.orm.jobs import JobImage
from neurall.orm.privacy import DataExport, ExportStatus, UsageLog
from neurall.retention.context import RetentionContext
from neurall.storage import StoredObject

_BATCH = 500


async def expired_api_results(ctx: RetentionContext) -> int:
    """API images past their expires_at (NEURALL_API_IMAGE_TTL_S, 15 minutes after the job
    finished) that were never fetched in full (a full fetch deletes them at once). The
    promise: API results are served until first fetched or a short TTL, then deleted; the
    image route already refuses them after expires_at, this removes the rows and files."""
    expired = await JobImage.filter(expires_at__lte=ctx.now).values_list("id", "storage_key")
    if not expired:
        return 0
    ids = [row[0] for row in expired]
    deleted = 0
    for start in range(0, len(ids), _BATCH):
        deleted += await JobImage.filter(id__in=ids[start : start + _BATCH]).delete()
    await ctx.storage.delete_many([key for _, key in expired])
    return deleted


async def usage_logs(ctx: RetentionContext) -> int:
    """Usage logs older than NEURALL_USAGE_RETENTION_DAYS (90): long enough for security
    investigations and billing questions about recent API use, no longer (they hold IPs
    and user agents). The ledger keeps what billing must keep."""
    cutoff = ctx.now - timedelta(days=ctx.settings.usage_retention_days)
    return await UsageLog.filter(created_at__lt=cutoff).delete()


async def expired_exports(ctx: RetentionContext) -> int:
    """Data export zips past expires_at (NEURALL_EXPORT_TTL_S, 24 hours after they were
    built): a copy of everything the account holds must not linger once its owner had
    the time to download it. The row stays, EXPIRED, so dataExport(id) says so. Exports
    still PENDING after that long (their worker died) are marked FAILED."""
    expired = await DataExport.filter(
        status=ExportStatus.READY, expires_at__lte=ctx.now
    ).values_list("id", "storage_key")
    await ctx.storage.delete_many([key for _, key in expired if key])
    if expired:
        await DataExport.filter(id__in=[row[0] for row in expired]).update(
            status=ExportStatus.EXPIRED, storage_key=None
        )
    stale = ctx.now - timedelta(seconds=ctx.settings.export_ttl_s)
    await DataExport.filter(status=ExportStatus.PENDING, created_at__lt=stale).update(
        status=ExportStatus.FAILED
    )
    return len(expired)


async def abandoned_uploads(ctx: RetentionContext) -> int:
    """Temporary uploads (storage under uploads/) older than NEURALL_ABANDONED_UPLOAD_TTL_S
    (6 hours) whose clone is not queued or training: uploads are for processing only and
    training deletes its photos when it ends; this catches what a crash or an abandoned
    upload left behind."""
    cutoff = ctx.now - timedelta(seconds=ctx.settings.abandoned_upload_ttl_s)
    storage = ctx.storage
    old = [o for o in await storage.list_objects("uploads") if o.modified_at < cutoff]
    active = await _active_clone_ids({_clone_id(o) for o in old} - {None})
    gone = [item.key for item in old if _clone_id(item) not in active]
    await storage.delete_many(gone)
    return len(gone)


def _clone_id(item: StoredObject) -> uuid.UUID | None:
    # uploads/clones/<clone id>/<n>.png (neurall.clones.store)
    parts = item.key.split("/")
    if len(parts) < 3 or parts[1] != "clones":
        return None
    try:
        return uuid.UUID(parts[2])
    except ValueError:
        return None


async def _active_clone_ids(ids: set[uuid.UUID | None]) -> set[uuid.UUID | None]:
    found: set[uuid.UUID | None] = set()
    wanted = [i for i in ids if i is not None]
    for start in range(0, len(wanted), _BATCH):
        found.update(
            await Clone.filter(
                id__in=wanted[start : start + _BATCH], status__in=list(ACTIVE_CLONE_STATUSES)
            ).values_list("id", flat=True)
        )
    return found


async def orphaned_blobs(ctx: RetentionContext) -> int:
    """Files under images/ whose JobImage row is gone, under exports/ whose export is not
    READY, and under adapters/ whose clone is gone, older than
    NEURALL_GENERATION_TIME_LIMIT_S (a worker writes an image file just before its row, an
    export just before marking it READY). A crash between deleting a row and its file leaves
    such blobs; nothing can serve them, so they go."""
    cutoff = ctx.now - timedelta(seconds=ctx.settings.generation_time_limit_s)
    storage = ctx.storage
    removed = 0
    images = [o.key for o in await storage.list_objects("images") if o.modified_at < cutoff]
    for start in range(0, len(images), _BATCH):
        batch = images[start : start + _BATCH]
        known = set(
            await JobImage.filter(storage_key__in=batch).values_list("storage_key", flat=True)
        )
        unknown = [key for key in batch if key not in known]
        await storage.delete_many(unknown)
        removed += len(unknown)
    exports = [o.key for o in await storage.list_objects("exports") if o.modified_at < cutoff]
    if exports:
        known = set(
            await DataExport.filter(
                Q(storage_key__in=exports) & Q(status=ExportStatus.READY)
            ).values_list("storage_key", flat=True)
        )
        unknown = [key for key in exports if key not in known]
        await storage.delete_many(unknown)
        removed += len(unknown)
    return removed + await _orphaned_adapters(ctx, cutoff)


async def _orphaned_adapters(ctx: RetentionContext, cutoff: datetime) -> int:
    """Clone weights (adapters/<clone id>.safetensors) whose clone row is gone: deleting a
    clone removes the row, then its weights; a crash in between leaves them."""
    old = [o for o in await ctx.storage.list_objects("adapters") if o.modified_at < cutoff]
    by_clone = {item.key: _adapter_clone_id(item) for item in old}
    wanted = [i for i in by_clone.values() if i is not None]
    known: set[uuid.UUID] = set()
    for start in range(0, len(wanted), _BATCH):
        known.update(
            await Clone.filter(id__in=wanted[start : start + _BATCH]).values_list("id", flat=True)
        )
    gone = [key for key, clone_id in by_clone.items() if clone_id not in known]
    await ctx.storage.delete_many(gone)
    return len(gone)


def _adapter_clone_id(item: StoredObject) -> uuid.UUID | None:
    name = item.key.rsplit("/", 1)[-1].removesuffix(".safetensors")
    try:
        return uuid.UUID(name)
    except ValueError:
        return None
