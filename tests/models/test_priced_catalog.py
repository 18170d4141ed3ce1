"""A catalog file through the app: prices per model (estimateCost is what is held), the
model kept on jobs, clones, usage rows and exports, and clones held to their base model."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from neurall.bus.events import JobEventData, MemoryEventBus
from neurall.clones.store import ModelStore
from neurall.config import Settings
from neurall.generation import service
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.types import GenerationRequest, GenerationResult, StepProgress
from neurall.orm import database
from neurall.orm.clones import Clone
from neurall.orm.jobs import Job, JobSource, JobStatus
from neurall.orm.privacy import UsageLog
from neurall.privacy.export import collect
from neurall.storage import make_storage
from neurall.storage.payloads import MemoryPayloadStore
from neurall.workers.generation import run_job
from tests.support.app import flush_usage
from tests.support.catalogs import MODELS, PRICED, catalog_file
from tests.support.clones import upload
from tests.support.factories import create_key, make_account, ready_clone_row, sign_up
from tests.support.graphql import GENERATE
from tests.support.runtime import generation_settings

ESTIMATE = "query($input: GenerateInput!) { estimateCost(input: $input) }"
GENERATE_MODEL = """
mutation($input: GenerateInput!) {
  generate(input: $input) {
    __typename
    ... on Job { id model heldCredits params { model width height steps } }
    ... on InvalidInput { fields errors { field message } }
  }
}
"""
JOB = "query($id: ID!) { job(id: $id) { model params { model } } }"
CLONE_BASE = "query($id: ID!) { clone(id: $id) { baseModel } }"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(
        tmp_path / "data", database_url, tiny_models, models_file=catalog_file(tmp_path, PRICED)
    )


async def test_prices_follow_the_model_and_the_hold_is_the_estimate(client):
    models = {m["id"]: m for m in (await client.data(MODELS))["models"]}
    assert [*models] == ["priced", "flux-priced", "pixel-steps"]
    assert (models["priced"]["creditsPerImage"], models["priced"]["batchCreditsPerImage"]) == (3, 2)
    # Without a BATCH price of its own: half the standard price, rounded up.
    flux = models["flux-priced"]
    assert (flux["creditsPerImage"], flux["batchCreditsPerImage"]) == (5, 3)
    # Without a price: the server's pixel-step price (512x512 at 20 steps is 1 credit).
    assert models["pixel-steps"]["creditsPerImage"] == 1
    await sign_up(client)
    # 4 times the native pixels, twice the default steps: 8 x 3 credits, for 2 images.
    sent = {"prompt": "a fox", "width": 128, "height": 128, "steps": 8, "numImages": 2}
    assert (await client.data(ESTIMATE, {"input": sent}))["estimateCost"] == 48
    job = (await client.data(GENERATE_MODEL, {"input": sent}))["generate"]
    assert (job["model"], job["heldCredits"]) == ("priced", 48)
    flux_job = {"prompt": "a fox", "model": "flux-priced"}
    assert (await client.data(ESTIMATE, {"input": flux_job}))["estimateCost"] == 5


async def test_the_job_keeps_its_model_and_clones_their_base_model(client):
    account = await sign_up(client)
    sent = {"prompt": "a fox", "model": "pixel-steps", "width": 64, "height": 64, "steps": 2}
    job = (await client.data(GENERATE_MODEL, {"input": sent}))["generate"]
    assert (job["model"], job["params"]["model"]) == ("pixel-steps", "pixel-steps")
    read = (await client.data(JOB, {"id": job["id"]}))["job"]
    assert read == {"model": "pixel-steps", "params": {"model": "pixel-steps"}}

    clone = await ready_clone_row(account["id"], name="Ada", trigger_word="sks", adapter_key="k")
    await Clone.filter(id=clone.id).update(base_model="pixel-steps")
    read = (await client.data(CLONE_BASE, {"id": str(clone.id)}))["clone"]
    assert read == {"baseModel": "pixel-steps"}
    # On another model the clone is refused, by the field it was sent in.
    on_other = {"prompt": "sks", "model": "priced", "steps": 2}
    for with_clone, field in (
        ({"cloneId": str(clone.id)}, "input.cloneId"),
        ({"adapters": [{"cloneId": str(clone.id)}]}, "input.adapters.0.cloneId"),
    ):
        result = await client.data(GENERATE_MODEL, {"input": on_other | with_clone})
        refused = result["generate"]
        assert refused["__typename"] == "InvalidInput", refused
        assert refused["errors"] == [
            {"field": field, "message": "This clone works only with the model pixel-steps."}
        ]


async def test_create_clone_refuses_an_unknown_model_and_one_without_clones(client):
    await sign_up(client)
    for model in ("sd-9000", "flux-priced"):
        variables = {"input": {"name": "Ada", "baseModel": model}}
        response = await upload(client, [("a.png", b"")] * 3, variables)
        answer = (await response.json())["data"]["createClone"]
        assert answer["__typename"] == "InvalidInput", answer
        assert answer["fields"] == ["input.baseModel"]


async def test_usage_logs_and_exports_carry_the_model(client):
    account = await sign_up(client)
    key = await create_key(client)
    sent = {"prompt": "a fox", "model": "pixel-steps", "width": 64, "height": 64, "steps": 2}
    job = (await client.data(GENERATE, {"input": sent}, api_key=key))["generate"]
    assert job["__typename"] == "Job", job
    await flush_usage(client)
    row = await UsageLog.get(account_id=account["id"], operation="generate")
    assert row.model == "pixel-steps"
    documents, _files = await collect(row.account_id)
    assert [j["model"] for j in documents["jobs.json"]] == ["pixel-steps"]
    assert [u["model"] for u in documents["usage.json"]] == ["pixel-steps"]


class _Recording:
    """An inference backend that notes the model each request names and draws nothing."""

    def __init__(self) -> None:
        self.models: list[str] = []

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> bool:
        return True

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Any]:
        self.models.append(request.model)
        for step in range(1, request.steps + 1):
            yield StepProgress(step, request.steps)
        yield GenerationResult(images=[PNG] * request.num_images)


async def test_the_worker_asks_for_the_jobs_model(settings):
    backend = _Recording()
    storage = make_storage(settings)
    runtime = GenerationRuntime(
        settings,
        bus=MemoryEventBus[JobEventData](),
        payloads=MemoryPayloadStore(),
        storage=storage,
        models=ModelStore(storage),
        inference_factory=lambda: backend,
    )

    async def hold(_job_id: uuid.UUID) -> None:
        return None

    runtime.set_enqueue(hold)
    await runtime.start()
    try:
        async with database.database(settings.database_url):
            account = await make_account()
            sent = {"prompt": "a fox", "model": "pixel-steps", "width": 64, "height": 64}
            params = validate({**sent, "steps": 2}, settings, runtime.catalog)
            for source in (JobSource.API, JobSource.PLAYGROUND):
                job = await service.submit(account, source, params, runtime)
                await run_job(str(job.id), runtime)
                assert (await Job.get(id=job.id)).status == JobStatus.SUCCEEDED
    finally:
        await runtime.close()
    assert backend.models == ["pixel-steps", "pixel-steps"]
