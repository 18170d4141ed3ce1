"""The safety checker: diffusers' real StableDiffusionSafetyChecker (built small, random
weights, one concept set so that a known image is flagged and another is not), loaded the
way NEURALL_SAFETY_CHECKER loads it, and each policy on both backends."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from neurall.gpu.images import encode_rgb_array
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.safety import SafetyChecker, SafetyPolicy, blur
from neurall.gpu.triton_client import TritonBackend
from neurall.gpu.types import GenerationResult
from tests.support.gpu import build_safety_checker, collect, decode_png, make_request
from tests.support.s3 import new_bucket
from tests.support.triton import TritonServer, running_triton_server, started_triton_client

# Image 0 of this request (seed SEED) is the one the checker is built to flag; image 1
# (seed SEED + 1) is not.
SEED = 1000
STEPS = 4


def _request(num_images: int = 2):  # type: ignore[no-untyped-def]
    return make_request(seed=SEED, steps=STEPS, num_images=num_images)


@pytest.fixture(scope="module")
def known(pipeline: Pipeline) -> list[bytes]:
    """The request's images without a checker."""
    return pipeline.run([_request()])[0].images


@pytest.fixture(scope="module")
def checker_dir(known: list[bytes], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_safety_checker(tmp_path_factory.mktemp("safety-checker"), *known)


@pytest.fixture(scope="module")
def safe_pipeline(model_cache_dir: Path, checker_dir: Path) -> Pipeline:
    """A pipeline loaded with the checker, as NEURALL_SAFETY_CHECKER loads it; tests set
    the policy they exercise."""
    return Pipeline.load("tiny", model_cache_dir, device="cpu", safety_checker=str(checker_dir))


def _set_policy(pipeline: Pipeline, policy: SafetyPolicy) -> None:
    assert pipeline._safety is not None
    pipeline._safety.policy = policy


@pytest.mark.parametrize("layout", ["checker folder", "model folder"])
def test_the_checker_flags_the_known_image_only(
    checker_dir: Path, known: list[bytes], tmp_path: Path, layout: str
) -> None:
    source = checker_dir
    if layout == "model folder":
        # A Stable Diffusion model folder keeps both parts in their own subfolders.
        source = tmp_path / "model"
        shutil.copytree(checker_dir, source / "safety_checker")
        shutil.copytree(checker_dir, source / "feature_extractor")
    checker = SafetyChecker.load(str(source), "flag")
    assert checker.flags(decode_png(known[0])[None]) == [True]
    assert checker.flags(decode_png(known[1])[None]) == [False]


def _blurred(png: bytes) -> bytes:
    return encode_rgb_array(blur(decode_png(png)))


def _expected(policy: SafetyPolicy, known: list[bytes]) -> GenerationResult:
    first = {
        SafetyPolicy.FLAG: known[0],
        SafetyPolicy.BLUR: _blurred(known[0]),
        SafetyPolicy.DROP: b"",
    }[policy]
    return GenerationResult(images=[first, known[1]], flagged=[True, False])


@pytest.mark.parametrize("policy", list(SafetyPolicy))
def test_each_policy_in_the_pipeline(
    safe_pipeline: Pipeline, known: list[bytes], policy: SafetyPolicy
) -> None:
    _set_policy(safe_pipeline, policy)
    result = safe_pipeline.run([_request()])[0]
    assert result == _expected(policy, known)
    delivered = [index for index, _png, _flag in result.entries()]
    assert delivered == ([1] if policy == SafetyPolicy.DROP else [0, 1])
    if policy == SafetyPolicy.BLUR:
        # Strong: far from the original, pixel for pixel.
        distance = abs(decode_png(result.images[0]) - decode_png(known[0])).mean()
        assert distance > 0.05


def test_a_request_whose_every_image_is_dropped_gets_none(safe_pipeline: Pipeline) -> None:
    _set_policy(safe_pipeline, SafetyPolicy.DROP)
    result = safe_pipeline.run([_request(num_images=1)])[0]
    assert result.images == [b""]
    assert result.entries() == []


@pytest.fixture(scope="module")
def dropping_server(
    model_cache_dir: Path,
    checker_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    s3_endpoint: str,
    gpu_server: Path,
) -> Iterator[TritonServer]:
    """`neurall gpu` with the checker and the drop policy."""
    args = ("--safety-checker", str(checker_dir), "--safety-policy", "drop")
    workdir = tmp_path_factory.mktemp("triton-safety")
    bucket = new_bucket(s3_endpoint)
    with running_triton_server(model_cache_dir, workdir, bucket, args) as server:
        yield server


@pytest.fixture
async def dropping_triton(dropping_server: TritonServer) -> AsyncIterator[TritonBackend]:
    async with started_triton_client(dropping_server.url, timeout_s=60) as backend:
        yield backend


async def test_triton_drops_and_flags_as_the_embedded_pipeline_does(
    dropping_triton: TritonBackend, known: list[bytes]
) -> None:
    """The withheld image and the flags travel through Triton's outputs."""
    _steps, result = await collect(dropping_triton.generate(_request()))
    assert result == _expected(SafetyPolicy.DROP, known)
    _steps, alone = await collect(dropping_triton.generate(_request(num_images=1)))
    assert alone == GenerationResult(images=[b""], flagged=[True])
