"""Blob storage behind a small interface: a local directory (embedded) or an S3 bucket."""

from neurall.config import Settings, SettingsError
from neurall.storage.base import ObjectStream, Storage, StoredObject, download
from neurall.storage.local import LocalStorage

__all__ = [
    "LocalStorage",
    "ObjectStream",
    "Storage",
    "StoredObject",
    "download",
    "make_storage",
]


def make_storage(settings: Settings) -> Storage:
    """The storage the settings name: NEURALL_STORAGE_URL's bucket, else the data directory;
    either counts its failures for the metrics."""
    from neurall.storage.metered import MeteredStorage

    if not settings.storage_url:
        return MeteredStorage(LocalStorage(settings.storage_dir))  # type: ignore[return-value]
    from neurall.storage.s3 import S3Location, S3Storage

    try:
        location = S3Location.parse(settings.storage_url)
    except ValueError as exc:
        raise SettingsError(f"NEURALL_STORAGE_URL: {exc}") from None
    return MeteredStorage(S3Storage(location))  # type: ignore[return-value]
