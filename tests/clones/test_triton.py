"""Clones through Triton (`neurall gpu` via PyTriton): the adapter travels with each request,
changes the pixels exactly as in-process, and requests with different adapters are never
computed in one pipeline call, however Triton batches them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from neurall.app import create_app
from neurall.clones import service
from neurall.clones.runtime import CloneRuntime
from neurall.clones.training import run_training
from neurall.config import Settings
from neurall.gpu.adapter_files import CachedAdapterFiles
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.triton_client import TritonBackend
from neurall.orm.clones import Clone, CloneStatus
from neurall.storage import make_storage
from neurall.storage.blocking import BlockingReader
from tests.support.clones import FAST_TRAINING, generate_person, photos
from tests.support.factories import make_account, trained_clone
from tests.support.gpu import collect, make_request
from tests.support.graphql import GraphQLClient
from tests.support.jobs import finished_image
from tests.support.runtime import generation_settings
from tests.support.s3 import AWS_ENV
from tests.support.triton import TritonServer, started_triton_client

# One database is enough here: what is tested is the inference path, not persistence.
pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]
PROMPT = "a photo of sks person"


async def _train(runtime: CloneRuntime, seed: int) -> str:
    clone = await service.create_clone(
        await make_account(),
        name="c",
        trigger_word="sks",
        training_steps=4,
        uploads=photos(3, seed=seed),
        runtime=runtime,
    )
    await run_training(str(clone.id), runtime)
    clone = await Clone.get(id=clone.id)
    assert clone.status == CloneStatus.READY, clone.error
    return await service.adapter_key(clone.account_id, str(clone.id), runtime.store)


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    model_cache_dir: Path,
    triton_server: TritonServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Storage in the Triton server's bucket: what a worker stores there, it fetches."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return generation_settings(
        tmp_path / "data",
        database_url,
        model_cache_dir,
        storage_url=triton_server.bucket.url,
        inference_url=triton_server.url,
        **FAST_TRAINING,
    )


@pytest.fixture
async def triton(triton_server: TritonServer) -> AsyncIterator[TritonBackend]:
    # tests/gpu/conftest.py's, with a longer timeout: training runs beside these requests.
    async with started_triton_client(triton_server.url, timeout_s=120) as backend:
        yield backend


@pytest.fixture
def clone_pipeline(model_cache_dir: Path, settings: Settings) -> Iterator[Pipeline]:
    # Its own instance: adapters attach to the UNet, and the shared one must stay pristine.
    # It reads the adapters from the bucket as `neurall gpu` does.
    reader = BlockingReader(lambda: make_storage(settings))
    files = CachedAdapterFiles(reader, settings.data_dir / "adapter-cache", 10**8)
    yield Pipeline.load("tiny", model_cache_dir, device="cpu", adapter_files=files)
    files.close()
    reader.close()


async def test_two_clones_through_triton_match_embedded_and_never_mix(
    runtime: CloneRuntime,
    triton: TritonBackend,
    triton_server: TritonServer,
    clone_pipeline: Pipeline,
):
    first, second = await _train(runtime, 1), await _train(runtime, 2)
    adapters = [first, second, None]
    # Same size, steps and guidance, so Triton's batcher may group them: only the adapter
    # (and the seed) differs.
    requests = [
        make_request(prompt=PROMPT, seed=100 + i % 2, lora=adapters[i % 3]) for i in range(6)
    ]
    before = triton_server.stats()
    outputs = await asyncio.gather(*(collect(triton.generate(r)) for r in requests))
    after = triton_server.stats()
    assert int(after["requests"]) - int(before["requests"]) == 6
    # Three adapters need at least three pipeline calls.
    assert int(after["pipeline_calls"]) - int(before["pipeline_calls"]) >= 3
    images = [result.images for _, result in outputs]
    for request, served in zip(requests, images, strict=True):
        assert served == clone_pipeline.run([request])[0].images  # as if run alone
    # Same seed: the first clone, the second and the base model all differ.
    same_seed = [images[0], images[4], images[2]]  # seed 100 with first, second, none
    assert [requests[i].seed for i in (0, 4, 2)] == [100, 100, 100]
    assert len({tuple(i) for i in same_seed}) == 3


async def test_generate_with_a_clone_on_a_triton_backed_server(
    aiohttp_client: Any, settings: Settings, clone_pipeline: Pipeline
):
    client = GraphQLClient(await aiohttp_client(create_app(settings)))
    from tests.support.factories import create_key, sign_up

    await sign_up(client)
    key = await create_key(client)
    clone = await trained_clone(client, key, photos(3, seed=3))
    plain = await finished_image(client, key, (await generate_person(client, key))["id"])
    job = await generate_person(client, key, cloneId=clone["id"])
    cloned = await finished_image(client, key, job["id"])
    assert cloned != plain
    # Exactly what the in-process pipeline computes with that clone's adapter file.
    adapter = f"adapters/{clone['id']}.safetensors"
    request = make_request(prompt=PROMPT, steps=4, seed=7, lora=adapter)
    assert [cloned] == clone_pipeline.run([request])[0].images
