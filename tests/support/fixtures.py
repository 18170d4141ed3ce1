"""Fixtures that tests in several directories share, registered as a plugin by the root
conftest.py: the tiny model (built once a session), a pipeline and a Triton server on it,
the distributed stack of real processes with an account on it, and the Stripe stand-in."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from filelock import FileLock

from neurall.gpu.catalog import builtin_catalog
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.tiny import build_tiny_pipeline
from tests.support.gpu import two_of_three_budget_mb
from tests.support.processes import distributed_stack
from tests.support.s3 import new_bucket
from tests.support.stack_api import StackApi, stack_account
from tests.support.stripe import StripeStub
from tests.support.triton import TritonServer, running_triton_server


@pytest.fixture(scope="session")
def gpu_server() -> Path:
    """The Triton Inference Server binary that `neurall gpu` runs (PyTriton's); a test that
    starts `neurall gpu` reaches it through this fixture, which gives it the gpu_server
    marker."""
    import pytriton

    binary = Path(pytriton.__file__).parent / "tritonserver" / "bin" / "tritonserver"
    if not binary.is_file():
        pytest.fail(f"PyTriton's Triton server is missing ({binary})", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding the built-in tiny pipeline (what `neurall serve` builds),
    built once a run: the first xdist worker to ask builds it under a lock, in the run's
    shared temporary directory, and the others use it."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the run's directory, above each worker's own
    models = root / "tiny-models"
    with FileLock(root / "tiny-models.lock"):
        if not (models / "tiny-sd").is_dir():
            building = root / "tiny-models.building"
            shutil.rmtree(building, ignore_errors=True)
            build_tiny_pipeline(building / "tiny-sd")
            building.rename(models)
    return models


@pytest.fixture(scope="session")
def model_cache_dir(tiny_models: Path) -> Path:
    """`neurall gpu --cache-dir`: the same directory, the tiny model built once."""
    return tiny_models


@pytest.fixture(scope="session")
def pipeline(model_cache_dir: Path) -> Pipeline:
    return Pipeline.load("tiny", model_cache_dir, device="cpu")


@pytest.fixture(scope="session")
def triton_server(
    model_cache_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    s3_endpoint: str,
    gpu_server: Path,
) -> Iterator[TritonServer]:
    """`neurall gpu` in a subprocess, as deployed on a host of its own: it reads clone
    adapters from an S3 bucket (``server.bucket``); stopped with SIGTERM at the end."""
    workdir = tmp_path_factory.mktemp("triton")
    # A memory budget that holds two of the three built-in models, not all three, so that
    # serving all of them loads and unloads (tests/gpu/test_gpu_triton.py).
    sizes = [
        Pipeline.load(spec, model_cache_dir, device="cpu").memory_bytes
        for spec in builtin_catalog()
    ]
    budget = ("--memory-budget-mb", f"{two_of_three_budget_mb(sizes):.6f}")
    with running_triton_server(
        model_cache_dir, workdir, new_bucket(s3_endpoint), extra_args=budget
    ) as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: Path,
    broker_url: str,
    postgres_server: str,
    gpu_server: Path,
) -> Iterator[dict]:
    """PostgreSQL database, then `neurall gpu` and `neurall serve`; workers per test. A
    long batching window, so concurrent jobs observably share pipeline calls."""
    workdir = tmp_path_factory.mktemp("distributed")
    with distributed_stack(workdir, tiny_models, broker_url, max_queue_delay_us=200_000) as s:
        yield s


@pytest.fixture
async def api(stack: dict) -> AsyncIterator[StackApi]:
    """A new account on the stack, speaking with its API key only."""
    async with stack_account(stack["api"], keep_session=False) as client:
        yield client


@pytest.fixture
async def stripe_stub(aiohttp_server: Any) -> StripeStub:
    """The Stripe stand-in, served on loopback (``stripe_stub.url``)."""
    stub = StripeStub()
    app = web.Application()
    app.router.add_post("/v1/checkout/sessions", stub.create_session)
    server = await aiohttp_server(app)
    stub.url = str(server.make_url("")).rstrip("/")
    return stub
