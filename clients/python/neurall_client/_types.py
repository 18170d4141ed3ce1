"""The facade's results: a Job whose images can be read, sync and async. Everything else
(events, clones, models) is the generated model itself, re-exported by the package."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Callable, Generic, TypeVar, Union

from neurall_client._generated.enums import JobPriority, JobSource, JobStatus
from neurall_client._generated.fragments import ImageFields, JobFields

FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})
StrPath = Union[str, "os.PathLike[str]"]


class _ImageBase:
    def __init__(self, fields: ImageFields) -> None:
        self.fields = fields
        # An API image is deleted once fetched in full, so the bytes are kept after the
        # first read: read() then save(), or save() twice, work.
        self._data: bytes | None = None

    url = property(lambda self: self.fields.url)
    width = property(lambda self: self.fields.width)
    height = property(lambda self: self.fields.height)
    seed = property(lambda self: self.fields.seed)
    content_type = property(lambda self: self.fields.content_type)
    expires_at = property(lambda self: self.fields.expires_at)
    flagged = property(lambda self: self.fields.flagged)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fields.url!r}, {self.width}x{self.height})"


class Image(_ImageBase):
    """One result image; ``read()`` downloads it (once), ``save(path)`` writes it."""

    def __init__(self, fields: ImageFields, fetch: Callable[[str], bytes]) -> None:
        super().__init__(fields)
        self._fetch = fetch

    def read(self) -> bytes:
        if self._data is None:
            self._data = self._fetch(self.fields.url)
        return self._data

    def save(self, path: StrPath) -> Path:
        target = Path(path)
        target.write_bytes(self.read())
        return target


class AsyncImage(_ImageBase):
    """One result image; ``await read()`` downloads it (once), ``await save(path)``."""

    def __init__(self, fields: ImageFields, fetch: Callable[[str], Awaitable[bytes]]) -> None:
        super().__init__(fields)
        self._fetch = fetch

    async def read(self) -> bytes:
        if self._data is None:
            self._data = await self._fetch(self.fields.url)
        return self._data

    async def save(self, path: StrPath) -> Path:
        data = await self.read()
        target = Path(path)
        # A local write of one image: not worth a thread, and the SDK adds no file library.
        target.write_bytes(data)  # noqa: ASYNC240
        return target


ImageT = TypeVar("ImageT", Image, AsyncImage)


class Job(Generic[ImageT]):
    """A generation job as the server last reported it (``fields``: every field asked)."""

    def __init__(self, fields: JobFields, images: list[ImageT]) -> None:
        self.fields = fields
        self.images: list[ImageT] = images

    @property
    def id(self) -> str:
        return self.fields.id

    @property
    def status(self) -> JobStatus:
        return self.fields.status

    @property
    def finished(self) -> bool:
        """SUCCEEDED, FAILED or CANCELED."""
        return self.fields.status in FINISHED

    @property
    def source(self) -> JobSource:
        return self.fields.source

    @property
    def model(self) -> str:
        return self.fields.model

    @property
    def priority(self) -> JobPriority:
        return self.fields.priority

    @property
    def queue_position(self) -> int | None:
        return self.fields.queue_position

    @property
    def step(self) -> int:
        return self.fields.step

    @property
    def total_steps(self) -> int:
        return self.fields.total_steps

    @property
    def progress(self) -> float:
        return self.fields.progress

    @property
    def eta_seconds(self) -> float | None:
        return self.fields.eta_seconds

    @property
    def held_credits(self) -> int:
        return self.fields.held_credits

    @property
    def cost_credits(self) -> int | None:
        return self.fields.cost_credits

    @property
    def error(self) -> str | None:
        return self.fields.error

    @property
    def created_at(self) -> datetime:
        return self.fields.created_at

    @property
    def started_at(self) -> datetime | None:
        return self.fields.started_at

    @property
    def finished_at(self) -> datetime | None:
        return self.fields.finished_at

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.status.value}, images={len(self.images)})"
