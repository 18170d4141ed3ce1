"""What every retention policy is given: the settings, the storage, and one "now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neurall.config import Settings
from neurall.storage import Storage


@dataclass(frozen=True)
class RetentionContext:
    settings: Settings
    storage: Storage
    # One instant for the whole sweep, so policies agree on what "expired" means.
    now: datetime
