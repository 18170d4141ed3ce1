"""Client: the same facade, blocking. It drives an AsyncClient on an event loop of its own
in a daemon thread, so the two cannot drift apart and the sync one works inside programs
that already run a loop (Jupyter) without nesting loops."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from neurall_client._async_client import AsyncClient
from neurall_client._generated.enums import JobStatus
from neurall_client._generated.fragments import CloneFields
from neurall_client._generated.job_events import JobEventsJobEvents
from neurall_client._generated.list_models import ListModelsModels
from neurall_client._inputs import FileLike
from neurall_client._retry import RetryPolicy
from neurall_client._types import AsyncImage, Image, Job

T = TypeVar("T")


class _Loop:
    """An event loop running in a daemon thread; ``run`` blocks on a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="neurall-client",
                                       daemon=True)  # fmt: skip
        self.thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(_await(awaitable), self.loop).result()

    def iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self.run(stream.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None and self.loop.is_running():
                self.run(aclose())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class Client:
    """Neurall's API with an API key, blocking. Arguments and methods as AsyncClient's;
    ``events``, ``jobs`` and ``clone_events`` are plain iterators. Close it (or use it as a
    context manager) to stop its thread."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 90.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._loop = _Loop()
        try:
            # Built on the loop's thread: httpx binds its pool to the loop that uses it.
            self._async = self._loop.run(_make(url, api_key, timeout, retry))
        except BaseException:
            self._loop.stop()
            raise
        self._closed = False

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncClient", "Client", 1)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.run(self._async.aclose())
            self._loop.stop()

    def generate(
        self,
        prompt: str,
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> Job[Image]:
        """See AsyncClient.generate: returns once the job has ended."""
        job = self._loop.run(
            self._async.generate(prompt, timeout=timeout, idempotency_key=idempotency_key,
                                 **params)
        )  # fmt: skip
        return self._sync(job)

    def submit(
        self, prompt: str, *, idempotency_key: str | None = None, **params: Any
    ) -> Job[Image]:
        job = self._loop.run(self._async.submit(prompt, idempotency_key=idempotency_key,
                                                **params))  # fmt: skip
        return self._sync(job)

    def estimate(self, prompt: str, **params: Any) -> int:
        return self._loop.run(self._async.estimate(prompt, **params))

    def job(self, job_id: str) -> Job[Image]:
        return self._sync(self._loop.run(self._async.job(job_id)))

    def jobs(
        self, status: JobStatus | str | None = None, *, page_size: int = 100
    ) -> Iterator[Job[Image]]:
        for job in self._loop.iterate(self._async.jobs(status, page_size=page_size)):
            yield self._sync(job)

    def cancel(self, job_id: str) -> Job[Image]:
        return self._sync(self._loop.run(self._async.cancel(job_id)))

    def events(
        self, job_id: str, *, after_seq: int | None = None, timeout: float | None = None
    ) -> Iterator[JobEventsJobEvents]:
        return self._loop.iterate(self._async.events(job_id, after_seq=after_seq,
                                                     timeout=timeout))  # fmt: skip

    def models(self) -> list[ListModelsModels]:
        return self._loop.run(self._async.models())

    def create_clone(
        self,
        name: str,
        photos: Sequence[FileLike],
        *,
        base_model: str | None = None,
        trigger_word: str | None = None,
        training_steps: int | None = None,
    ) -> CloneFields:
        return self._loop.run(
            self._async.create_clone(
                name, photos, base_model=base_model, trigger_word=trigger_word,
                training_steps=training_steps,
            )
        )  # fmt: skip

    def clone(self, clone_id: str) -> CloneFields:
        return self._loop.run(self._async.clone(clone_id))

    def clone_events(self, clone_id: str, *, timeout: float | None = None) -> Iterator[CloneFields]:
        return self._loop.iterate(self._async.clone_events(clone_id, timeout=timeout))

    def _sync(self, job: Job[AsyncImage]) -> Job[Image]:
        def fetch(url: str) -> bytes:
            return self._loop.run(self._async._download(url))

        return Job(job.fields, [Image(image.fields, fetch) for image in job.images])


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _make(
    url: str | None, api_key: str | None, timeout: float, retry: RetryPolicy | None
) -> AsyncClient:
    return AsyncClient(url, api_key, timeout=timeout, retry=retry)
