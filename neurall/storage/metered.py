"""Counts failed storage operations (a full disk, an unreachable bucket) for the
``neurall_storage_errors_total`` metric, around whichever storage the settings chose."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from neurall.metrics import STORAGE_ERRORS


class MeteredStorage:
    """Delegates everything to ``inner``; an async method that raises counts one error,
    labelled with the method's name (the interface's few names: a bounded label)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(value):
            return value

        @functools.wraps(value)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return await value(*args, **kwargs)
            except ValueError:
                raise  # a refused key is a caller's bug, not a disk or bucket error
            except Exception:
                STORAGE_ERRORS.labels(name).inc()
                raise

        return counted
