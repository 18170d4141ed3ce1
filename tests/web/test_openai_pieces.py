"""The OpenAI-compatible API's pure pieces: request fields to the domain's, the domain's
errors to OpenAI's, OpenAI's mask to the pipeline's, and signed result links."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

import numpy as np
import pytest
from aiohttp import web
from PIL import Image
from prometheus_client import REGISTRY

from neurall import errors
from neurall.generation.result_links import sign, verify
from neurall.outages import RETRY_AFTER_S, ServiceUnavailableError
from neurall.services import Services
from neurall.web.openai.call import Call, route
from neurall.web.openai.edits_form import pipeline_mask
from neurall.web.openai.errors import OpenAIError, from_domain, param_for
from neurall.web.openai.orders import EXTRA, read_order


def test_domain_fields_name_the_openai_request_fields():
    assert [
        param_for(f) for f in ("input.width", "input.height", "input.numImages", "input.initImage")
    ] == ["size", "size", "n", "image"]
    assert param_for("input.guidanceScale") == "guidance_scale"
    assert param_for("input.mask") == "mask"
    assert param_for("idempotencyKey") == "Idempotency-Key"


def test_domain_errors_become_the_statuses_the_sdk_maps():
    cases = [
        (errors.InvalidInputError("bad", ["input.numImages"]), 400, "invalid_request_error"),
        (errors.NotAuthenticatedError(), 401, "invalid_request_error"),
        (errors.ForbiddenError("no"), 403, "permission_error"),
        (errors.InsufficientCreditsError(5, 1), 429, "insufficient_quota"),
        (errors.SpendLimitReachedError(5, 5, datetime.now(UTC)), 429, "insufficient_quota"),
        (errors.RateLimitedError(0.2), 429, "requests"),
        (errors.ConflictError("again"), 409, "invalid_request_error"),
    ]
    for exc, status, kind in cases:
        answer = from_domain(exc)
        assert (answer.status, answer.body["type"]) == (status, kind), exc
    assert from_domain(cases[0][0]).body["param"] == "n"
    assert from_domain(errors.RateLimitedError(0.2)).headers["Retry-After"] == "1"


def test_a_body_reads_into_the_records_field_names():
    order = read_order(
        {"prompt": "p", "n": 2, "size": "64x128", "seed": 3, "scheduler": "euler"}, extra=EXTRA
    )
    assert order.response_format == "url"
    assert {k: v for k, v in order.sent.items() if v is not None} == {
        "prompt": "p",
        "num_images": 2,
        "width": 64,
        "height": 128,
        "seed": 3,
        "scheduler": "EULER",
    }
    form = read_order({"prompt": "p", "n": "2", "strength": "0.5"}, extra=EXTRA, from_form=True)
    assert (form.sent["num_images"], form.sent["strength"]) == (2, 0.5)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": "p", "size": "64"}, "size"),
        ({"prompt": "p", "size": "64x²"}, "size"),
        ({"prompt": "p", "n": "2"}, "n"),  # JSON numbers are numbers
        ({"prompt": "p", "n": True}, "n"),
        ({"prompt": "p", "guidance_scale": float("nan")}, "guidance_scale"),
        ({"prompt": "p", "response_format": "png"}, "response_format"),
    ],
)
def test_a_misshapen_body_names_its_field(body, param):
    with pytest.raises(OpenAIError) as raised:
        read_order(body, extra=EXTRA)
    assert (raised.value.status, raised.value.body["param"]) == (400, param)


def test_the_openai_mask_becomes_the_pipelines():
    alpha = np.full((8, 8), 255, dtype=np.uint8)
    alpha[:4] = 0  # the top half is transparent: repainted
    rgba = Image.fromarray(np.dstack([np.zeros((8, 8, 3), np.uint8), alpha]), "RGBA")
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    mask = np.asarray(Image.open(io.BytesIO(pipeline_mask(buffer.getvalue()))))
    assert mask.shape == (8, 8)
    assert (mask[:4] == 255).all()
    assert (mask[4:] == 0).all()


def test_a_signed_link_is_refused_when_tampered_or_expired():
    image_id, later = uuid.uuid4(), datetime.now(UTC) + timedelta(minutes=15)
    token = sign("secret", image_id, later)
    assert verify("secret", token, datetime.now(UTC)) == image_id
    assert verify("other secret", token, datetime.now(UTC)) is None
    raw_id, expires, signature = token.split(".")
    assert verify("secret", f"{raw_id}.{int(expires) + 60}.{signature}", datetime.now(UTC)) is None
    assert verify("secret", token, later + timedelta(seconds=1)) is None
    assert verify("secret", "garbage", datetime.now(UTC)) is None
    assert verify("secret", f"{raw_id}.{expires}.é", datetime.now(UTC)) is None


async def test_an_outage_is_a_503_with_retry_after_in_openais_shape(aiohttp_client):
    async def broker_down(_call: Call) -> web.StreamResponse:
        raise ServiceUnavailableError("the broker")

    app = web.Application()
    # No key is sent, so the frame never reaches for the services.
    app.router.add_get("/v1/x", route(cast(Services, None), "x", broker_down, scope=None))
    http = await aiohttp_client(app)
    response = await http.get("/v1/x")
    assert response.status == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert (await response.json())["error"]["code"] == "service_unavailable"
    labels = {"operation": "x", "status": "503"}
    assert (REGISTRY.get_sample_value("neurall_openai_calls_total", labels) or 0) >= 1
