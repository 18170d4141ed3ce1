"""The OpenAI-compatible images API, driven by the official `openai` package (sync and
async) against a real `neurall serve`: models, generations in both response formats,
edits with and without a mask, Neurall's extra parameters, each error class, idempotent
replays and usage, signed result links, a client hanging up, and the sentinel sweep.

Jobs are tiny (64 x 64, a few steps) and every test has an account of its own."""

from __future__ import annotations

import asyncio
import base64
import io
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import numpy as np
import openai
import pytest
from PIL import Image

from neurall.generation.result_links import sign
from tests.support.graphql import CREATE_KEY, JOB, ME
from tests.support.poll import until
from tests.support.processes import EmbeddedServe
from tests.support.sentinel import Places, image_needles, input_image, sweep
from tests.support.stack_api import stack_account

pytestmark = pytest.mark.slow

JOB_COST = "query($id: ID!) { job(id: $id) { priority costCredits } }"
MODEL_PRICES = "{ models { isDefault creditsPerImage batchCreditsPerImage } }"
SMALL = {"steps": 2}  # extra_body: the tiny model at its native 64 x 64
USAGE = "query($since: DateTime!) { usage(since: $since) { requests images credits } }"
JOBS = "{ jobs(first: 5) { edges { node { id status } } } }"


@pytest.fixture
async def account(openai_serve: EmbeddedServe) -> Any:
    async with stack_account(openai_serve.base) as api:
        yield api


def sync_client(serve: EmbeddedServe, key: str) -> openai.OpenAI:
    # No retries: each call must be seen once (the SDK retries 429 and 5xx by default).
    return openai.OpenAI(base_url=serve.base + "/v1", api_key=key, max_retries=0)


def async_client(serve: EmbeddedServe, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=serve.base + "/v1", api_key=key, max_retries=0)


def fetch(url: str) -> tuple[int, bytes]:
    """GET without any credential."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - http://
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_models_list_is_the_catalog(openai_serve, account):
    models = sync_client(openai_serve, account.key).models.list()
    assert [m.id for m in models.data] == ["tiny-sd", "tiny-sdxl", "tiny-flux"]
    assert {m.object for m in models.data} == {"model"}
    assert models.data[0].model_extra["default"] is True


async def test_generate_two_images_as_links_each_downloads_once_without_a_key(
    openai_serve, account
):
    answer = sync_client(openai_serve, account.key).images.generate(
        model="tiny-sd", prompt="a red fox", n=2, size="64x64", extra_body=SMALL
    )
    urls = [image.url for image in answer.data]
    assert len(urls) == 2
    assert len(set(urls)) == 2
    first = fetch(urls[0])
    assert first[0] == 200
    assert Image.open(io.BytesIO(first[1])).size == (64, 64)
    # API results are delivered once.
    assert fetch(urls[0])[0] == 410
    # A tampered signature, and a genuine one past its expiry, are refused.
    tampered = urls[1][:-2] + ("AA" if not urls[1].endswith("AA") else "BB")
    assert fetch(tampered)[0] == 403
    image_id = urls[1].rsplit("/", 1)[1].split(".")[0]
    secret = (openai_serve.data / "secret_key").read_text().strip()
    past = datetime.now(UTC) - timedelta(seconds=5)
    expired = f"{openai_serve.base}/v1/images/results/" + sign(
        secret, uuid.UUID(hex=image_id), past
    )
    assert fetch(expired)[0] == 403
    # The untouched link still works: the refusals did not use it up.
    assert fetch(urls[1])[0] == 200


async def test_b64_answers_keep_nothing_and_extra_body_reaches_the_job(openai_serve, account):
    client = async_client(openai_serve, account.key)
    extra = {
        "seed": 7,
        "steps": 3,
        "negative_prompt": "blur",
        "guidance_scale": 5.0,
        "scheduler": "euler",
    }
    first, second, batch = await asyncio.gather(
        *(
            client.images.generate(prompt="a lighthouse", response_format="b64_json", extra_body=b)
            for b in (extra, extra, {"seed": 7, "priority": "batch"})
        )
    )
    one, two = (base64.b64decode(a.data[0].b64_json) for a in (first, second))
    assert one == two  # same seed and parameters: the same bytes
    job = (await account(JOB, {"id": first.model_extra["job_id"]}))["job"]
    assert (job["status"], job["totalSteps"], job["params"]) == ("SUCCEEDED", 3, None)
    assert job["images"] == []  # delivered inline, then deleted
    # At the model's native size and default steps, a BATCH image costs its batch price
    # (the tiny model's prices are both 1 credit: the lane is what this shows).
    job = (await account(JOB_COST, {"id": batch.model_extra["job_id"]}))["job"]
    [model] = [m for m in (await account(MODEL_PRICES, None))["models"] if m["isDefault"]]
    assert job == {"priority": "BATCH", "costCredits": model["batchCreditsPerImage"]}


async def test_edit_repaints_only_the_transparent_area(openai_serve, account):
    rng = np.random.default_rng(3)
    source = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    alpha = np.full((64, 64), 255, dtype=np.uint8)
    alpha[:, :32] = 0  # OpenAI's convention: transparent is repainted
    mask = Image.fromarray(np.dstack([source, alpha]), "RGBA")
    client = sync_client(openai_serve, account.key)
    answer = client.images.edit(
        image=("in.png", png_bytes(Image.fromarray(source)), "image/png"),
        mask=("mask.png", png_bytes(mask), "image/png"),
        prompt="a meadow",
        response_format="b64_json",
        extra_body={"steps": 4, "seed": 1},
    )
    out = pixels(base64.b64decode(answer.data[0].b64_json))
    before = source.astype(np.int16)
    assert np.abs(out[:, 32:] - before[:, 32:]).mean() < 2  # kept
    assert np.abs(out[:, :32] - before[:, :32]).mean() > 20  # repainted
    # No mask: image-to-image of the whole picture, at its size.
    plain = await async_client(openai_serve, account.key).images.edit(
        image=("in.png", png_bytes(Image.fromarray(source)), "image/png"),
        prompt="a meadow",
        response_format="b64_json",
        extra_body={"steps": 4, "seed": 1},
    )
    assert pixels(base64.b64decode(plain.data[0].b64_json)).shape == (64, 64, 3)


async def test_each_error_raises_the_sdk_exception(openai_serve, account):
    client = sync_client(openai_serve, account.key)

    def refused(exc_type: type[openai.APIStatusError], **kwargs: Any) -> openai.APIStatusError:
        with pytest.raises(exc_type) as raised:
            client.images.generate(**{"prompt": "x", "extra_body": SMALL, **kwargs})
        return raised.value

    for kwargs, param in [
        ({"size": "65x64"}, "size"),
        ({"size": "big"}, "size"),
        ({"n": 9}, "n"),
        ({"model": "dall-e-3"}, "model"),
        ({"prompt": " "}, "prompt"),
        ({"extra_body": {"steps": 0}}, "steps"),
        ({"extra_body": {"strength": 0.5}}, "strength"),  # only an edit has an image
        # Refused while the domain has no priorities, and as a bad value once it has.
        ({"extra_body": {"priority": "NOPE"}}, "priority"),
    ]:
        error = refused(openai.BadRequestError, **kwargs)
        assert (error.status_code, error.param, error.type) == (400, param, "invalid_request_error")
    png = png_bytes(Image.new("RGB", (64, 64)))
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.edit(image=("x.png", b"not an image", "image/png"), prompt="x")
    assert raised.value.param == "image"
    with pytest.raises(openai.BadRequestError) as raised:  # a mask without transparency
        client.images.edit(image=("x.png", png, "image/png"), mask=("m.png", png), prompt="x")
    assert raised.value.param == "mask"
    # More than the account's 100 credits: OpenAI's insufficient_quota, not retried.
    error = refused(openai.RateLimitError, n=8, size="1024x1024", extra_body={"steps": 150})
    assert (error.code, error.response.headers["x-should-retry"]) == ("insufficient_quota", "false")
    with pytest.raises(openai.AuthenticationError):
        sync_client(openai_serve, "nk_not_a_key").images.generate(prompt="x")
    read_only = await account.data(CREATE_KEY, {"name": "r", "scopes": ["READ"]})
    with pytest.raises(openai.PermissionDeniedError):
        sync_client(openai_serve, read_only["createApiKey"]["secret"]).images.generate(prompt="x")
    assert (await account(ME))["me"]["heldCredits"] == 0  # nothing refused holds anything


async def test_rate_limits_answer_429_with_retry_after(openai_serve, account):
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {account.key}"}
        statuses = []
        for _ in range(60):  # tokens refill slowly (20 a minute): a 429 comes well before
            async with http.get(openai_serve.base + "/v1/models", headers=headers) as r:
                statuses.append(r.status)
                if r.status == 429:
                    body, limited = await r.json(), r.headers
                    break
                assert r.headers["RateLimit-Limit"] == "20"
    assert statuses[-1] == 429
    assert statuses.count(200) >= 20
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert int(limited["Retry-After"]) >= 1
    assert limited["RateLimit-Remaining"] == "0"
    with pytest.raises(openai.RateLimitError):
        sync_client(openai_serve, account.key).models.list()


async def test_an_idempotent_replay_is_the_same_job_charged_and_counted_once(openai_serve, account):
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    client = sync_client(openai_serve, account.key).with_options(
        default_headers={"Idempotency-Key": "order-7"}
    )
    first = client.images.generate(prompt="a boat", n=2, extra_body={"seed": 3, **SMALL})
    again = client.images.generate(prompt="a boat", n=2, extra_body={"seed": 3, **SMALL})
    assert again.model_extra["job_id"] == first.model_extra["job_id"]
    assert [i.url for i in again.data] == [i.url for i in first.data]
    with pytest.raises(openai.ConflictError):  # the same key with another request
        client.images.generate(prompt="a ship", n=2, extra_body={"seed": 3, **SMALL})
    # Asked with the session: calls with the key would be usage too.
    job = (await account(JOB, {"id": first.model_extra["job_id"]}, api=False))["job"]
    me = (await account(ME, api=False))["me"]
    assert (me["credits"], me["heldCredits"]) == (100 - job["costCredits"], 0)
    # The key's usage: three calls, one job's images and credits.
    usage = (await account(USAGE, {"since": since}, api=False))["usage"]
    assert [(u["requests"], u["images"], u["credits"]) for u in usage] == [
        (3, 2, job["costCredits"])
    ]


async def test_a_client_that_hangs_up_cancels_its_job(openai_serve, account):
    timeout = aiohttp.ClientTimeout(total=1.5)
    # Seconds of work on one torch thread (150 steps at 64 x 64 took about 1.4 s: too close
    # to the client's 1.5 s).
    body = {"prompt": "a slow one", "steps": 150, "size": "256x256", "response_format": "b64_json"}
    async with aiohttp.ClientSession(timeout=timeout) as http:
        with pytest.raises(asyncio.TimeoutError):
            await http.post(
                openai_serve.base + "/v1/images/generations",
                json=body,
                headers={"Authorization": f"Bearer {account.key}"},
            )
    # The server may still be submitting the job when the client leaves: it is canceled
    # either way, once the call finds its client gone.
    jobs = await until(
        lambda: account(JOBS),
        lambda data: [e["node"]["status"] for e in data["jobs"]["edges"]] == ["CANCELED"],
        within=60,
        what="the job canceled once its client left",
    )
    job = (await account(JOB, {"id": jobs["jobs"]["edges"][0]["node"]["id"]}))["job"]
    # Settled as any cancel: charged for the steps it finished, the rest released.
    assert job["costCredits"] is not None
    assert (await account(ME))["me"]["heldCredits"] == 0


async def test_sentinel_sweep_through_the_openai_routes(openai_serve, account, rabbitmq_vhost):
    secret = f"sentinel-{uuid.uuid4().hex}"
    upload, inputs = input_image()
    client = sync_client(openai_serve, account.key)
    linked = client.images.generate(prompt=secret, extra_body={"negative_prompt": secret, **SMALL})
    status, png = fetch(linked.data[0].url)
    assert status == 200
    inline = client.images.edit(
        image=("in.png", upload, "image/png"),
        prompt=secret,
        response_format="b64_json",
        extra_body=SMALL,
    )
    edited = base64.b64decode(inline.data[0].b64_json)
    sweep(openai_serve.env)
    places = Places(rabbitmq_vhost.url, rabbitmq_vhost.name, None, [openai_serve.data.parent])
    # The search reads the server's log, its SQLite file and its storage.
    searched = {p.name for p in places.files()}
    assert {"serve.log", "neurall.sqlite3"} <= searched
    assert (
        places.scan([secret.encode(), *image_needles(png), *image_needles(edited), *inputs]) == []
    )
