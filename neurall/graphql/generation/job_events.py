"""The jobEvents subscription."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry

from neurall.errors import NotFoundError
from neurall.generation import service
from neurall.generation.lifecycle import snapshot
from neurall.graphql.context import Info
from neurall.graphql.errors import PublicError
from neurall.graphql.generation.access import generation_runtime, public_viewer
from neurall.graphql.generation.types import JobEvent, event_type
from neurall.graphql.outages import until_outage
from neurall.graphql.shared_events import shared_object
from neurall.ids import parse_id


@strawberry.type
class GenerationSubscription:
    @strawberry.subscription(
        description="Live events of one of the caller's jobs. Starts with the job's current "
        "state, then streams until it ends. afterSeq skips events already seen."
    )
    async def job_events(
        self, info: Info, job_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        viewer = public_viewer(info)
        runtime = generation_runtime(info)
        parsed = parse_id(str(job_id))
        # Subscribe before reading the row, so no event falls between the two.
        async with runtime.bus.subscribe(parsed or uuid.uuid4()) as live:
            job = await service.get_job(viewer.account, str(job_id))
            if job is None:
                raise PublicError(NotFoundError())
            current = await snapshot(job)
            last = after_seq or 0
            if current.seq > last:
                last = current.seq
                yield event_type(info, current)
            if current.terminal:
                return
            async for event in until_outage(live):
                if event.seq <= last:
                    continue
                last = event.seq
                # One object per bus event for all its subscribers: their executions are
                # then shared too (shared_events).
                yield shared_object(event, lambda event=event: event_type(info, event))
                if event.terminal:
                    return
