"""The generate mutation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import strawberry

from neurall import events
from neurall.generation import params as gen_params
from neurall.generation import service, waiting
from neurall.generation.idempotency import request_digest
from neurall.graphql.context import Info
from neurall.graphql.errors import (
    Conflict,
    Forbidden,
    InsufficientCredits,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
    SpendLimitReached,
    returns_user_errors,
)
from neurall.graphql.generation.access import generate_viewer, generation_runtime
from neurall.graphql.generation.inputs import GenerateInput
from neurall.graphql.generation.types import Job, job_type
from neurall.orm import jobs as orm

GenerateResult = Annotated[
    Job
    | InvalidInput
    | InsufficientCredits
    | RateLimited
    | NotAuthenticated
    | Forbidden
    | NotFound
    | Conflict
    | SpendLimitReached,
    strawberry.union("GenerateResult"),
]


@strawberry.type
class GenerateMutation:
    @strawberry.mutation(
        description="Queues a generation. The same idempotencyKey from the same account "
        "returns the same job. wait: seconds (at most 60) to wait for the job to end before "
        "answering; the answer is the job as it stands then (finished, or still queued or "
        "running)."
    )
    @returns_user_errors
    async def generate(
        self,
        info: Info,
        input: GenerateInput,
        idempotency_key: str | None = None,
        wait: int | None = None,
    ) -> GenerateResult:
        viewer = generate_viewer(info)
        wait_s = waiting.check_wait(wait)
        key = gen_params.check_idempotency_key(idempotency_key)
        settings = info.context.services.settings
        params = await input.to_request(settings, info.context.services.catalog)
        source = orm.JobSource.API if viewer.via_api_key else orm.JobSource.PLAYGROUND
        digest = None
        if key is not None:
            secret = settings.secret_key.get_secret_value().encode()
            digest = request_digest(viewer.account.id, input.digest_input(), secret)
        # A hold that takes the credits below the low-credit threshold records an event.
        async with events.announcing():
            submission = await service.submit_request(
                viewer.account,
                source,
                params,
                generation_runtime(info),
                idempotency_key=key,
                request_digest=digest,
                rate_limit=info.context.services.rate_limits.generate,
                api_key=viewer.api_key,
                priority=input.lane(),
            )
        job = submission.job
        if not submission.replayed:  # a replay made nothing new: usage counts it once
            info.context.usage_reference = job.ledger_reference
            info.context.usage_images = job.num_images
            info.context.usage_model = job.model
        if wait_s:
            job = await waiting.job_after_wait(
                job, generation_runtime(info), wait_s, _client_gone(info)
            )
        return await job_type(info, job)


def _client_gone(info: Info) -> Callable[[], bool]:
    """Whether the caller's connection closed: aiohttp does not cancel a handler when its
    client leaves, so the wait looks at the socket itself (and ends; the job goes on)."""
    request = info.context.request

    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    return gone
