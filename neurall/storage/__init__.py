"""Blob storage behind a small interface: a local directory now, S3-compatible later."""

from neurall.storage.base import Storage, StoredObject
from neurall.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StoredObject", "make_storage"]


def make_storage(root: object) -> Storage:
    """The storage for the settings' storage directory (a shared volume when distributed)."""
    from pathlib import Path

    from neurall.storage.metered import MeteredStorage

    return MeteredStorage(LocalStorage(Path(str(root))))  # type: ignore[return-value]
