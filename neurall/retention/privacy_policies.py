"""The privacy retention policies: API results, usage logs, exports, uploads, orphans.

Each is one bulk delete (rows in one statement, then the files they named) and returns how
many records or blobs it removed. Storage is the settings' storage directory, the same
one every process shares.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from tortoise.expressions import Q

from neurall.orm.jobs import JobImage
from neurall.orm.privacy import DataExport, ExportStatus, UsageLog
from neurall.retention.sweeper import RetentionContext, policy
from neurall.storage import Storage, StoredObject, make_storage

_BATCH = 500


def _storage(ctx: RetentionContext) -> Storage:
    return make_storage(ctx.settings.storage_dir)


@policy("expired-api-results")
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
    storage = _storage(ctx)
    for _, key in expired:
        await storage.delete(key)
    return deleted


@policy("usage-logs")
async def usage_logs(ctx: RetentionContext) -> int:
    """Usage logs older than NEURALL_USAGE_RETENTION_DAYS (90): long enough for security
    investigations and billing questions about recent API use, no longer (they hold IPs
    and user agents). The ledger keeps what billing must keep."""
    cutoff = ctx.now - timedelta(days=ctx.settings.usage_retention_days)
    return await UsageLog.filter(created_at__lt=cutoff).delete()


@policy("expired-exports")
async def expired_exports(ctx: RetentionContext) -> int:
    """Data export zips past expires_at (NEURALL_EXPORT_TTL_S, 24 hours after they were
    built): a copy of everything the account holds must not linger once its owner had
    the time to download it. The row stays, EXPIRED, so dataExport(id) says so. Exports
    still PENDING after that long (their worker died) are marked FAILED."""
    expired = await DataExport.filter(
        status=ExportStatus.READY, expires_at__lte=ctx.now
    ).values_list("id", "storage_key")
    storage = _storage(ctx)
    for _, key in expired:
        if key:
            await storage.delete(key)
    if expired:
        await DataExport.filter(id__in=[row[0] for row in expired]).update(
            status=ExportStatus.EXPIRED, storage_key=None
        )
    stale = ctx.now - timedelta(seconds=ctx.settings.export_ttl_s)
    await DataExport.filter(status=ExportStatus.PENDING, created_at__lt=stale).update(
        status=ExportStatus.FAILED
    )
    return len(expired)


@policy("abandoned-uploads")
async def abandoned_uploads(ctx: RetentionContext) -> int:
    """Temporary uploads (storage under uploads/) older than NEURALL_ABANDONED_UPLOAD_TTL_S
    (6 hours) whose clone is not queued or training: uploads are for processing only and
    training deletes its photos when it ends; this catches what a crash or an abandoned
    upload left behind."""
    cutoff = ctx.now - timedelta(seconds=ctx.settings.abandoned_upload_ttl_s)
    storage = _storage(ctx)
    old = [o for o in await storage.list_objects("uploads") if o.modified_at < cutoff]
    active = await _active_clone_ids({_clone_id(o) for o in old} - {None})
    removed = 0
    for item in old:
        if _clone_id(item) not in active:
            await storage.delete(item.key)
            removed += 1
    return removed


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
    try:
        from neurall.orm.clones import ACTIVE_CLONE_STATUSES, Clone
    except ImportError:
        return set()
    found: set[uuid.UUID | None] = set()
    wanted = [i for i in ids if i is not None]
    for start in range(0, len(wanted), _BATCH):
        found.update(
            await Clone.filter(
                id__in=wanted[start : start + _BATCH], status__in=list(ACTIVE_CLONE_STATUSES)
            ).values_list("id", flat=True)
        )
    return found


@policy("orphaned-blobs")
async def orphaned_blobs(ctx: RetentionContext) -> int:
    """Files under images/ whose JobImage row is gone, and under exports/ whose export is
    not READY, older than NEURALL_GENERATION_TIME_LIMIT_S (a worker writes an image file
    just before its row, an export just before marking it READY). A crash between deleting
    a row and its file leaves such blobs; nothing can serve them, so they go."""
    cutoff = ctx.now - timedelta(seconds=ctx.settings.generation_time_limit_s)
    storage = _storage(ctx)
    removed = 0
    images = [o.key for o in await storage.list_objects("images") if o.modified_at < cutoff]
    for start in range(0, len(images), _BATCH):
        batch = images[start : start + _BATCH]
        known = set(
            await JobImage.filter(storage_key__in=batch).values_list("storage_key", flat=True)
        )
        for key in batch:
            if key not in known:
                await storage.delete(key)
                removed += 1
    exports = [o.key for o in await storage.list_objects("exports") if o.modified_at < cutoff]
    if exports:
        known = set(
            await DataExport.filter(
                Q(storage_key__in=exports) & Q(status=ExportStatus.READY)
            ).values_list("storage_key", flat=True)
        )
        for key in exports:
            if key not in known:
                await storage.delete(key)
                removed += 1
    return removed
