"""Data export: a zip of JSON files and images with everything the account holds.

``request_export`` creates a PENDING export (rate-limited per account, counted in the
database so every API process agrees); the maintenance actor builds it with
``build_export``; the owner downloads it from /exports/<id> until ``expires_at``
(NEURALL_EXPORT_TTL_S, 24 h), after which the retention sweep deletes the file.

What is exported: account.json (profile), api_keys.json (names, prefixes, scopes, dates;
never secrets or hashes), ledger.json and purchases.json, history.json (playground jobs
with their parameters; images under images/<job>/), jobs.json (API jobs: status and cost
only, their requests were never kept), clones.json, usage.json, audit_events.json,
webhook_endpoints.json (without signing secrets) and webhook_deliveries.json.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import uuid
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.models import Model

from neurall.clock import now
from neurall.config import Settings
from neurall.errors import RateLimitedError
from neurall.ids import parse_id
from neurall.orm.accounts import Account, ApiKey
from neurall.orm.audit import AuditEvent
from neurall.orm.billing import LedgerEntry, Purchase
from neurall.orm.clones import Clone
from neurall.orm.jobs import Job, JobImage, JobSource
from neurall.orm.privacy import DataExport, ExportStatus, UsageLog
from neurall.orm.webhooks import WebhookDelivery, WebhookEndpoint
from neurall.storage import Storage

log = logging.getLogger(__name__)

# Column names never exported, whatever model they are on.
_SECRET_WORDS = ("hash", "secret", "token", "password")


def export_key(export_id: uuid.UUID) -> str:
    return f"exports/{export_id}.zip"


def model_dict(row: Model, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row's columns as JSON-ready values, without secrets (hashes, tokens, passwords)."""
    out: dict[str, Any] = {}
    for name in row._meta.fields_db_projection:
        if name in exclude or any(word in name for word in _SECRET_WORDS):
            continue
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        elif hasattr(value, "value") and not isinstance(value, int | float | str | bool):
            value = value.value
        out[name] = value
    return out


async def _rows_of(model: type[Model], account_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every row of ``model`` that belongs to the account, oldest first."""
    rows = await model.filter(account_id=account_id).order_by("created_at")
    return [model_dict(row) for row in rows]


async def request_export(account: Account, settings: Settings) -> DataExport:
    """A new PENDING export, or RateLimited past NEURALL_EXPORTS_PER_DAY_PER_ACCOUNT."""
    current = now()
    day_ago = current - timedelta(days=1)
    recent = await DataExport.filter(account_id=account.id, created_at__gte=day_ago).order_by(
        "created_at"
    )
    if len(recent) >= settings.exports_per_day_per_account:
        retry = (recent[0].created_at + timedelta(days=1) - current).total_seconds()
        raise RateLimitedError(max(1.0, retry), "Too many exports today; try again later.")
    return await DataExport.create(account_id=account.id)


async def get_export(account: Account, export_id: str) -> DataExport | None:
    """The caller's export (EXPIRED once past expires_at), or None for anyone else's."""
    parsed = parse_id(export_id)
    if parsed is None:
        return None
    export = await DataExport.get_or_none(id=parsed, account_id=account.id)
    if export is not None and is_expired(export):
        export.status = ExportStatus.EXPIRED
    return export


def is_expired(export: DataExport) -> bool:
    return export.expires_at is not None and export.expires_at <= now()


async def downloadable(account_id: uuid.UUID, export_id: str) -> DataExport | None:
    """The export the owner may download now (READY and not expired), else None."""
    parsed = parse_id(export_id)
    if parsed is None:
        return None
    export = await DataExport.get_or_none(
        id=parsed, account_id=account_id, status=ExportStatus.READY
    )
    if export is None or export.storage_key is None or is_expired(export):
        return None
    return export


async def collect(account_id: uuid.UUID) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The JSON documents of the export and (zip path, storage key) of each image."""
    account = await Account.get(id=account_id)
    jobs = await Job.filter(account_id=account_id).order_by("created_at")
    images = await JobImage.filter(job__account_id=account_id).order_by("job_id", "index")
    images_by_job: dict[uuid.UUID, list[JobImage]] = {}
    for image in images:
        images_by_job.setdefault(image.job_id, []).append(image)  # type: ignore[attr-defined]
    files: list[tuple[str, str]] = []
    history = []
    for job in jobs:
        if job.source != JobSource.PLAYGROUND:
            continue
        entry = model_dict(job, exclude=("account_id",))
        entry["images"] = []
        for image in images_by_job.get(job.id, []):
            path = f"images/{job.id}/{image.index}.png"
            entry["images"].append({**model_dict(image, exclude=("storage_key",)), "file": path})
            files.append((path, image.storage_key))
        history.append(entry)
    documents: dict[str, Any] = {
        "account.json": model_dict(account),
        "api_keys.json": await _rows_of(ApiKey, account_id),
        "ledger.json": await _rows_of(LedgerEntry, account_id),
        "purchases.json": await _rows_of(Purchase, account_id),
        "history.json": history,
        "jobs.json": [
            model_dict(j, exclude=("params",)) for j in jobs if j.source == JobSource.API
        ],
        "clones.json": await _clones(account_id),
        "usage.json": await _rows_of(UsageLog, account_id),
        "audit_events.json": await _rows_of(AuditEvent, account_id),
        # Signing secrets are credentials, not personal data: never exported.
        "webhook_endpoints.json": [
            model_dict(e, exclude=("secret", "previous_secret"))
            for e in await WebhookEndpoint.filter(account_id=account_id)
        ],
        "webhook_deliveries.json": await _rows_of(WebhookDelivery, account_id),
    }
    return documents, files


async def _clones(account_id: uuid.UUID) -> list[dict[str, Any]]:
    return [model_dict(c) for c in await Clone.filter(account_id=account_id)]


async def _write_zip(
    target: Path, documents: dict[str, Any], files: list[tuple[str, str]], storage: Storage
) -> None:
    """The export's zip at ``target``: its documents, then each image fetched one at a time,
    so neither the images nor the zip are ever held in memory together."""
    archive = await asyncio.to_thread(zipfile.ZipFile, target, "w", zipfile.ZIP_DEFLATED)
    try:
        for name, value in documents.items():
            text = json.dumps(value, indent=2, default=str)
            await asyncio.to_thread(archive.writestr, name, text)
        for path, key in files:
            data = await storage.get(key)
            if data is not None:  # PNGs are packed already
                await asyncio.to_thread(
                    archive.writestr, path, data, compress_type=zipfile.ZIP_STORED
                )
    finally:
        await asyncio.to_thread(archive.close)


async def build_export(export_id: uuid.UUID, storage: Storage, settings: Settings) -> None:
    """Build a PENDING export's zip into storage and mark it READY (FAILED on error)."""
    export = await DataExport.get_or_none(id=export_id)
    if export is None or export.status != ExportStatus.PENDING:
        return  # built already (redelivery) or erased meanwhile
    key = export_key(export.id)
    # A private scratch directory, removed whatever happens: the zip holds personal data.
    scratch = tempfile.TemporaryDirectory(prefix="neurall-export-")
    try:
        documents, files = await collect(export.account_id)  # type: ignore[attr-defined]
        spooled = Path(scratch.name) / "export.zip"
        await _write_zip(spooled, documents, files, storage)
        size = (await asyncio.to_thread(spooled.stat)).st_size
        await storage.put_file(key, spooled)
    except Exception:
        log.exception("export %s failed", export_id)
        await DataExport.filter(id=export_id).update(status=ExportStatus.FAILED)
        return
    finally:
        await asyncio.to_thread(scratch.cleanup)
    finished = now()
    updated = await DataExport.filter(id=export_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.READY,
        storage_key=key,
        size_bytes=size,
        ready_at=finished,
        expires_at=finished + timedelta(seconds=settings.export_ttl_s),
    )
    if not updated:  # the account was erased while we built it
        await storage.delete(key)
