"""Several clones at once: each validation error with its field path, the clones the caller
may use, one surcharge however many, and a job blending two clones run by the worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from neurall.billing import ledger
from neurall.billing.pricing import Pricing
from neurall.config import Settings
from neurall.errors import InvalidInputError
from neurall.generation import service
from neurall.generation.params import validate
from neurall.generation.runtime import GenerationRuntime
from neurall.gpu.catalog import builtin_catalog
from neurall.gpu.types import AdapterWeight
from neurall.graphql.generation.types import GenerateParams
from neurall.orm.accounts import Account
from neurall.orm.clones import Clone, CloneStatus
from neurall.orm.jobs import Job, JobImage, JobSource, JobStatus
from neurall.workers.generation import run_job
from tests.support.factories import ready_clone_row
from tests.support.gpu import save_adapter
from tests.support.runtime import generation_settings, held_runtime

A, B = str(uuid.UUID(int=10)), str(uuid.UUID(int=11))


# Validation needs only the server's bounds: no database.
BOUNDS = Settings()


def _invalid(sent: dict[str, object]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        validate({"prompt": "p", **sent}, BOUNDS)
    return caught.value


def _adapters(*pairs: tuple[object, object]) -> list[dict[str, object]]:
    return [{"clone_id": clone, "weight": weight} for clone, weight in pairs]


@pytest.mark.parametrize(
    ("sent", "fields"),
    [
        (
            {"adapters": _adapters(*[(str(uuid.UUID(int=i)), 1.0) for i in range(5)])},
            ["input.adapters"],
        ),
        ({"adapters": _adapters((A, 1.0), (B, 2.5))}, ["input.adapters.1.weight"]),
        ({"adapters": _adapters((A, -0.1))}, ["input.adapters.0.weight"]),
        ({"adapters": _adapters((A, float("nan")))}, ["input.adapters.0.weight"]),
        ({"adapters": _adapters((A, 1.0), ("not-an-id", 1.0))}, ["input.adapters.1.cloneId"]),
        ({"adapters": _adapters((A, 1.0), (A, 0.5))}, ["input.adapters.1.cloneId"]),
        ({"clone_id": A, "adapters": _adapters((B, 1.0))}, ["input.adapters"]),
    ],
    ids=["too many", "weight above 2", "negative weight", "NaN", "bad id", "twice", "both"],
)
def test_bad_adapters_are_named_by_their_path(sent, fields) -> None:  # type: ignore[no-untyped-def]
    assert _invalid(sent).fields == fields


def test_clone_id_is_one_adapter_at_weight_one_and_weights_default_to_one() -> None:
    assert validate({"prompt": "p", "clone_id": A}, BOUNDS).adapters == (AdapterWeight(A, 1.0),)
    sent = {"prompt": "p", "adapters": _adapters((A, None), (B, 0.0))}
    assert validate(sent, BOUNDS).adapters == (AdapterWeight(A, 1.0), AdapterWeight(B, 0.0))


@pytest.fixture
async def runtime(
    tmp_path: Path, database_url: str, tiny_models: Path
) -> AsyncIterator[GenerationRuntime]:
    """A runtime whose queue holds the job until the test runs it."""
    settings = generation_settings(tmp_path / "data", database_url, tiny_models)
    async with held_runtime(settings) as runtime:
        yield runtime


async def _account(email: str) -> Account:
    account = await Account.create(email=email, password_hash="x")
    await ledger.grant(account.id, 1000, "test", f"grant:{email}")
    return account


async def _clone(account: Account, name: str, status: CloneStatus = CloneStatus.READY) -> str:
    clone = await ready_clone_row(
        account.id, name=name, trigger_word=name, adapter_key=f"{uuid.uuid4()}.safetensors"
    )
    if status != CloneStatus.READY:
        await Clone.filter(id=clone.id).update(status=status)
    return str(clone.id)


async def test_only_the_callers_ready_clones_and_a_stranger_s_reads_like_none(runtime):
    me, other = await _account("me@example.com"), await _account("other@example.com")
    mine = await _clone(me, "mine")
    training = await _clone(me, "training", CloneStatus.TRAINING)
    theirs = await _clone(other, "theirs")
    missing = str(uuid.uuid4())
    errors = {}
    for name, clone in (("training", training), ("theirs", theirs), ("missing", missing)):
        params = validate(
            {"prompt": "p", "adapters": _adapters((mine, 1.0), (clone, 0.5))}, runtime.settings
        )
        with pytest.raises(InvalidInputError) as caught:
            await service.submit(me, JobSource.API, params, runtime)
        errors[name] = (str(caught.value), caught.value.fields)
    assert errors["training"] == errors["theirs"] == errors["missing"]
    assert errors["missing"][1] == ["input.adapters.1.cloneId"]
    # Nothing was held or created.
    assert await ledger.entry_totals(me.id) == (1000, 0)
    assert not await Job.filter(account_id=me.id).exists()


def test_the_clone_surcharge_is_applied_once() -> None:
    clones = [str(uuid.UUID(int=i)) for i in range(1, 5)]
    # estimate_cost reads only the runtime's prices and its catalog.
    runtime = SimpleNamespace(pricing=Pricing(), catalog=builtin_catalog())

    def cost(sent: dict[str, object]) -> int:
        # 512x512 at 20 steps is one credit: the surcharge shows.
        params = validate({"prompt": "p", "width": 512, "height": 512, **sent}, BOUNDS)
        return service.estimate_cost(params, runtime)  # type: ignore[arg-type]

    one = cost({"clone_id": clones[0]})
    assert one > cost({})
    assert cost({"adapters": _adapters(*[(c, 2.0) for c in clones])}) == one


async def test_a_job_blending_two_clones_runs_and_reports_them(
    runtime, tiny_models: Path, tmp_path: Path
):
    me = await _account("blend@example.com")
    ids = []
    for seed in (1, 2):
        key = f"c{seed}.safetensors"
        clone = await ready_clone_row(me.id, name=f"c{seed}", trigger_word="sks", adapter_key=key)
        await runtime.models.save(key, save_adapter(tiny_models / "tiny-sd", tmp_path / key, seed))
        ids.append(str(clone.id))
    sent = {
        "prompt": "a photo of sks",
        "steps": 2,
        "adapters": _adapters((ids[0], 0.5), (ids[1], 1.5)),
    }
    params = validate(sent, runtime.settings)
    job = await service.submit(me, JobSource.PLAYGROUND, params, runtime)
    await run_job(str(job.id), runtime)

    done = await Job.get(id=job.id)
    assert done.status == JobStatus.SUCCEEDED, done.error
    assert await JobImage.filter(job_id=job.id).count() == 1
    reported = GenerateParams.from_stored(done.params)
    assert [(a.clone_id, a.weight) for a in reported.adapters] == [(ids[0], 0.5), (ids[1], 1.5)]
    assert reported.clone_id is None
