"""AsyncClient: the facade over the generated client, awaited."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, cast

import httpx
from websockets.exceptions import ConnectionClosed

from neurall_client._generated.base_model import UNSET
from neurall_client._generated.client import GeneratedClient
from neurall_client._generated.enums import CloneStatus, JobEventType, JobStatus
from neurall_client._generated.fragments import CloneFields, JobFields
from neurall_client._generated.job_events import JobEventsJobEvents
from neurall_client._generated.list_models import ListModelsModels
from neurall_client._inputs import FileLike, clone_input, generate_input, upload
from neurall_client._retry import RetryPolicy
from neurall_client._types import AsyncImage, Job
from neurall_client.errors import (
    NetworkError,
    NeurallError,
    NotFoundError,
    ServiceUnavailableError,
    from_user_error,
)

# The contract caps generate(wait:) at 60 seconds.
MAX_WAIT_S = 60
PAGE_SIZE = 100
END_EVENTS = frozenset({JobEventType.SUCCEEDED, JobEventType.FAILED, JobEventType.CANCELED})
CLONE_ENDS = frozenset({CloneStatus.READY, CloneStatus.FAILED})
# What a dropped subscription looks like; the stream resumes after it.
DROPPED = (ConnectionClosed, OSError, asyncio.TimeoutError, ServiceUnavailableError)


def settings(url: str | None, api_key: str | None) -> tuple[str, str]:
    """The arguments, else NEURALL_URL and NEURALL_API_KEY."""
    url = url or os.environ.get("NEURALL_URL")
    api_key = api_key or os.environ.get("NEURALL_API_KEY")
    if not url:
        raise NeurallError("No server URL: pass url= or set NEURALL_URL.")
    if not api_key:
        raise NeurallError("No API key: pass api_key= or set NEURALL_API_KEY.")
    return url, api_key


class AsyncClient:
    """Neurall's API with an API key, awaited. ``url`` is the server's base URL
    (``http://127.0.0.1:8000``); both default to NEURALL_URL and NEURALL_API_KEY.
    ``timeout``: seconds per HTTP request; ``retry``: see RetryPolicy."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 90.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        url, api_key = settings(url, api_key)
        # The default timeout outlasts generate(wait: 60), so a waiting call is not cut.
        self._api = GeneratedClient(url, api_key, timeout=timeout, retry=retry)

    def __repr__(self) -> str:
        return f"AsyncClient({self._api.base_url!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._api.aclose()

    # ------------------------------------------------------------------ generation

    async def generate(
        self,
        prompt: str,
        *,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> Job[AsyncImage]:
        """Generate and return the job once it has ended (SUCCEEDED, FAILED or CANCELED;
        check ``status``). ``params``: GenerateInput's fields in snake case (width, height,
        steps, model, seed, negative_prompt, guidance_scale, num_images, scheduler,
        clone_id, adapters={clone_id: weight}, priority, init_image, strength, mask; files
        as paths, bytes or binary files). ``timeout``: seconds to wait at most (None:
        until it ends); past it, the job is returned as it stands."""
        deadline = None if timeout is None else time.monotonic() + timeout
        wait = MAX_WAIT_S if timeout is None else max(0, min(MAX_WAIT_S, int(timeout)))
        job = await self._generate(prompt, params, idempotency_key, wait)
        if job.finished:
            return job
        async for event in self.events(job.id, timeout=_left(deadline)):
            if event.type_ in END_EVENTS:
                break
        return await self.job(job.id)

    async def submit(
        self, prompt: str, *, idempotency_key: str | None = None, **params: Any
    ) -> Job[AsyncImage]:
        """Queue a job and return it at once (QUEUED). ``params`` as for ``generate``."""
        return await self._generate(prompt, params, idempotency_key, None)

    async def _generate(
        self,
        prompt: str,
        params: dict[str, Any],
        idempotency_key: str | None,
        wait: int | None,
    ) -> Job[AsyncImage]:
        # One key for every try of this call: a retry after a lost answer gets the job the
        # first try made, never a second one.
        key = idempotency_key or uuid.uuid4().hex
        result = await self._api.generate(
            input=generate_input(prompt, **params),
            idempotency_key=key,
            wait=UNSET if wait is None else wait,
            idempotent=True,
        )
        return self._job(_expect_job(result.generate))

    async def estimate(self, prompt: str, **params: Any) -> int:
        """Credits ``generate`` would hold for this input."""
        result = await self._api.estimate_cost(
            input=generate_input(prompt, **params), idempotent=True
        )
        return result.estimate_cost

    async def job(self, job_id: str) -> Job[AsyncImage]:
        """One of the caller's jobs; NotFoundError for any other id."""
        found = (await self._api.get_job(id=job_id, idempotent=True)).job
        if found is None:
            raise NotFoundError(f"No job {job_id}.")
        return self._job(found)

    async def jobs(
        self, status: JobStatus | str | None = None, *, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[Job[AsyncImage]]:
        """Every one of the caller's jobs (newest first), page after page."""
        after: str | None = None
        while True:
            page = (
                await self._api.list_jobs(
                    first=page_size,
                    after=after,
                    status=JobStatus(status) if status is not None else None,
                    idempotent=True,
                )
            ).jobs
            for edge in page.edges:
                yield self._job(edge.node)
            if not page.page_info.has_next_page:
                return
            after = page.page_info.end_cursor

    async def cancel(self, job_id: str) -> Job[AsyncImage]:
        """Cancel a queued or running job (ConflictError once it has ended)."""
        result = await self._api.cancel_job(id=job_id, idempotent=True)
        return self._job(_expect_job(result.cancel_job))

    async def events(
        self, job_id: str, *, after_seq: int | None = None, timeout: float | None = None
    ) -> AsyncIterator[JobEventsJobEvents]:
        """The job's events over graphql-transport-ws, from its current state to its end.
        A dropped socket is reopened with ``afterSeq`` = the last seq seen, so no event
        comes twice; the retry policy bounds how often in a row."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = after_seq
        # The state a resumed stream starts with is the job's row, whose step is written
        # only every so often (docs/api.md, "How the events are made"): measured, it came
        # as a PROGRESS event repeating a step already seen, under a newer seq. Steps only
        # grow within a run (a run that starts over sends STARTED first), so a PROGRESS
        # event that does not advance is left out.
        last_step = 0
        failures = 0
        while True:
            try:
                stream = self._api.job_events(
                    job_id=job_id, after_seq=UNSET if last is None else last
                )
                async for message in _bounded(stream, deadline):
                    event = message.job_events
                    if last is not None and event.seq <= last:
                        continue
                    last, failures = event.seq, 0
                    if event.type_ == JobEventType.STARTED:
                        last_step = 0
                    elif event.type_ == JobEventType.PROGRESS:
                        if event.step <= last_step:
                            continue
                        last_step = event.step
                    yield event
                    if event.type_ in END_EVENTS:
                        return
                return
            except DROPPED as exc:
                retry_after = getattr(exc, "retry_after", None)
                delay = self._api.retry.delay(failures, retry_after)
                if delay is None:
                    raise NetworkError(f"The event stream of job {job_id} kept dropping.") from exc
                failures += 1
                await asyncio.sleep(delay)

    # --------------------------------------------------------------------- models

    async def models(self) -> list[ListModelsModels]:
        """The server's model catalog, the default first."""
        return (await self._api.list_models(idempotent=True)).models

    # --------------------------------------------------------------------- clones

    async def create_clone(
        self,
        name: str,
        photos: Sequence[FileLike],
        *,
        base_model: str | None = None,
        trigger_word: str | None = None,
        training_steps: int | None = None,
    ) -> CloneFields:
        """Upload photos (paths, bytes or files) and start training a clone. Not retried
        after a timeout or a 503: the API has no idempotency key for clones."""
        images = [upload(photo, f"photo{i}") for i, photo in enumerate(photos)]
        result = await self._api.create_clone(
            input=clone_input(
                name, base_model=base_model, trigger_word=trigger_word,
                training_steps=training_steps,
            ),
            images=images,
        )  # fmt: skip
        clone = result.create_clone
        if clone.typename__ != "Clone":
            raise from_user_error(clone)
        return cast(CloneFields, clone)

    async def clone(self, clone_id: str) -> CloneFields:
        found = (await self._api.get_clone(id=clone_id, idempotent=True)).clone
        if found is None:
            raise NotFoundError(f"No clone {clone_id}.")
        return found

    async def clone_events(
        self, clone_id: str, *, timeout: float | None = None
    ) -> AsyncIterator[CloneFields]:
        """The clone's state as it trains, until READY or FAILED; resubscribes after a
        dropped socket (the stream starts with the current state, so nothing is missed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        failures = 0
        while True:
            try:
                async for message in _bounded(self._api.clone_events(clone_id=clone_id), deadline):
                    failures = 0
                    yield message.clone_events
                    if message.clone_events.status in CLONE_ENDS:
                        return
                return
            except DROPPED as exc:
                delay = self._api.retry.delay(failures, getattr(exc, "retry_after", None))
                if delay is None:
                    raise NetworkError(f"The events of clone {clone_id} kept dropping.") from exc
                failures += 1
                await asyncio.sleep(delay)

    # --------------------------------------------------------------------- images

    async def _download(self, url: str) -> bytes:
        # Image URLs are the server's own; the key goes only there.
        attempt = 0
        while True:
            try:
                response = await self._api.http.get(url)
            except httpx.TransportError as exc:
                delay = self._api.retry.delay(attempt)
                if delay is None:
                    raise NetworkError(f"Could not download {url}: {exc!r}") from exc
            else:
                if response.status_code == 404:
                    # Also what a second download of an API image gets: it was deleted
                    # once fetched in full.
                    raise NotFoundError(f"No image at {url} (API images are served once).")
                if response.status_code < 400:
                    return response.content
                delay = self._api.retry.delay(attempt) if response.status_code >= 500 else None
                if delay is None:
                    raise NeurallError(f"HTTP {response.status_code} downloading {url}.")
            attempt += 1
            await asyncio.sleep(delay)

    def _job(self, fields: JobFields) -> Job[AsyncImage]:
        images = [AsyncImage(image, self._download) for image in fields.images]
        return Job(fields, images)


def _expect_job(result: Any) -> JobFields:
    if result.typename__ != "Job":
        raise from_user_error(result)
    return cast(JobFields, result)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


async def _bounded(stream: AsyncIterator[Any], deadline: float | None) -> AsyncIterator[Any]:
    """The stream's items until ``deadline`` (then it simply ends)."""
    iterator = stream.__aiter__()
    try:
        while True:
            left = _left(deadline)
            if left is not None and left <= 0:
                return
            try:
                yield await asyncio.wait_for(iterator.__anext__(), left)
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                if deadline is not None and _left(deadline) == 0:
                    return
                raise
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
