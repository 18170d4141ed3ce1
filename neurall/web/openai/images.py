"""``POST /v1/images/generations`` and ``POST /v1/images/edits``: one job each, answered
once it has ended, as OpenAI's API answers.

Thin over the domain, exactly as GraphQL's ``generate``: the request is checked by
``generation.params.validate``, priced, held and queued by ``generation.service.
submit_request`` (an API job: nothing of its prompt or images is kept), under the same
per-account generate limit, spend limits and Idempotency-Key rules (the key comes as a
header; a replay returns the first call's job and charges nothing more). Then the call
waits for the job (``NEURALL_OPENAI_WAIT_S``, else 504 naming the job, which goes on);
a client that hangs up meanwhile cancels it under the usual rules (charged for the steps
it finished). The images come back as signed links (neurall.generation.result_links) or
inline (``b64_json``: deleted once the answer went out, neurall.generation.results).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

from aiohttp import web

from neurall import events
from neurall.errors import DomainError
from neurall.generation import params as gen_params
from neurall.generation import result_links, service
from neurall.generation.completion import wait_for_end
from neurall.generation.idempotency import request_digest
from neurall.generation.results import hand_over
from neurall.generation.runtime import GenerationRuntime
from neurall.orm.jobs import Job, JobSource, JobStatus
from neurall.web.cors import cors_headers
from neurall.web.openai.call import Call
from neurall.web.openai.edits_form import pipeline_mask, read_form
from neurall.web.openai.errors import OpenAIError, invalid
from neurall.web.openai.orders import EXTRA, Order, read_order
from neurall.web.origins import trusted_origins

log = logging.getLogger(__name__)

JOB_ID_HEADER = "Neurall-Job-Id"
RESULTS_PATH = "/v1/images/results/"
# The answer carries images or links to them: no cache may keep it.
NO_STORE = {"Cache-Control": "no-store"}


async def generations(call: Call) -> web.StreamResponse:
    try:
        body = await call.request.json()
    except ValueError:
        raise invalid("The body must be a JSON object.", "prompt") from None
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object.", "prompt")
    return await _generate(call, read_order(body, extra=EXTRA))


async def edits(call: Call) -> web.StreamResponse:
    form = await read_form(call.request)
    mask = form.files.get("mask")
    # Decoding the mask is CPU work on untrusted bytes: off the event loop.
    converted = await asyncio.to_thread(pipeline_mask, mask) if mask is not None else None
    images = {"init_image": form.files["image"], "mask": converted}
    return await _generate(call, read_order(form.text, extra=EXTRA, from_form=True, images=images))


def _runtime(call: Call) -> GenerationRuntime:
    runtime = call.services.generation
    if runtime is None:
        raise RuntimeError("generation is not running in this process")
    return runtime


async def _generate(call: Call, order: Order) -> web.StreamResponse:
    viewer = call.require_viewer()
    services, runtime = call.services, _runtime(call)
    settings = services.settings
    key = gen_params.check_idempotency_key(call.request.headers.get("Idempotency-Key"))
    if order.has_images:  # input images are decoded: off the event loop
        params = await asyncio.to_thread(
            gen_params.validate, order.sent, settings, services.catalog
        )
    else:
        params = gen_params.validate(order.sent, settings, services.catalog)
    digest = None
    if key is not None:
        secret = settings.secret_key.get_secret_value().encode()
        digest = request_digest(viewer.account.id, order.digest_input(), secret)
    # A hold that takes the credits below the low-credit threshold records an event.
    async with events.announcing():
        submission = await service.submit_request(
            viewer.account,
            JobSource.API,
            params,
            runtime,
            idempotency_key=key,
            request_digest=digest,
            rate_limit=services.rate_limits.generate,
            api_key=viewer.api_key,
            priority=order.priority,
        )
    job = submission.job
    call.headers[JOB_ID_HEADER] = str(job.id)
    if not submission.replayed:  # a replay made nothing new: usage counts it once
        call.usage_reference = job.ledger_reference
        call.usage_images = job.num_images
        call.usage_model = job.model
    ended = await wait_for_end(
        job, runtime, within_s=settings.openai_wait_s, abandoned=lambda: _gone(call.request)
    )
    if ended is None:
        if _gone(call.request):
            await _cancel(call, job, runtime)
            return web.Response(status=499)  # nobody reads it; the connection is gone
        raise OpenAIError(
            504,
            f"The job is still running after {settings.openai_wait_s:g} s; it goes on. Read "
            "it through GraphQL (job(id)) with this job_id, or cancel it there.",
            kind="timeout",
            code="job_timeout",
            retry=False,
            job_id=str(job.id),
        )
    return await _answer(call, ended, order.response_format)


def _gone(request: web.Request) -> bool:
    """Whether the client hung up (aiohttp does not cancel a handler when it does)."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def _cancel(call: Call, job: Job, runtime: GenerationRuntime) -> None:
    viewer = call.require_viewer()
    try:
        await service.cancel(viewer.account, str(job.id), runtime)
        log.info("job %s canceled: its client hung up", job.id)
    except DomainError:
        pass  # it ended meanwhile: nothing to cancel


async def _answer(call: Call, job: Job, response_format: str) -> web.StreamResponse:
    if job.status == JobStatus.FAILED:
        raise OpenAIError(
            500,
            job.error or "The job failed; nothing was charged.",
            kind="server_error",
            code="job_failed",
            retry=False,
            job_id=str(job.id),
        )
    if job.status == JobStatus.CANCELED:
        raise OpenAIError(
            409, "The job was canceled.", code="job_canceled", retry=False, job_id=str(job.id)
        )
    answer: dict[str, Any] = {"created": int(job.created_at.timestamp()), "job_id": str(job.id)}
    settings = call.services.settings
    if response_format == "url":
        secret = settings.secret_key.get_secret_value()
        tokens = await result_links.job_links(job.id, secret)
        base = settings.public_url.rstrip("/") + RESULTS_PATH
        answer["data"] = [{"url": base + token} for token in tokens]
        return web.json_response(answer, headers=NO_STORE)
    request, viewer = call.request, call.require_viewer()
    response: web.StreamResponse | None = None

    async def send(blobs: list[bytes]) -> bool:
        nonlocal response
        answer["data"] = [{"b64_json": base64.b64encode(blob).decode()} for blob in blobs]
        # Sent here, so the images are deleted only once the answer went out whole; the
        # call's and CORS's headers are added now, as the answer is sent before they could.
        headers = {**NO_STORE, **call.headers, **cors_headers(request, _trusted(call))}
        response = web.json_response(answer, headers=headers)
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return False  # the client left: the images stay until their TTL, then go
        return True

    await hand_over(viewer, job.id, call.services.storage, send)
    if response is None:  # hand_over always calls send, even with no image left
        raise RuntimeError("the answer was not sent")
    return response


def _trusted(call: Call) -> frozenset[str]:
    return trusted_origins(call.services.settings)
