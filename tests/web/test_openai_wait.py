"""An OpenAI-compatible call whose job outlasts NEURALL_OPENAI_WAIT_S: 504 naming the job,
which goes on (here it is canceled through GraphQL, as a client would)."""

from __future__ import annotations

import openai
import pytest

from neurall.app import create_app
from tests.support.factories import create_key, sign_up
from tests.support.graphql import CANCEL, GraphQLClient
from tests.support.runtime import generation_settings


async def test_a_job_past_the_wait_answers_504_with_its_id(
    aiohttp_client, tmp_path, database_url, tiny_models
):
    settings = generation_settings(
        tmp_path / "data", database_url, tiny_models, openai_wait_s=0.001
    )
    http = await aiohttp_client(create_app(settings))
    client = GraphQLClient(http)
    await sign_up(client)
    key = await create_key(client)
    sdk = openai.AsyncOpenAI(base_url=str(http.make_url("/v1")), api_key=key, max_retries=0)
    with pytest.raises(openai.InternalServerError) as raised:
        await sdk.images.generate(prompt="a slow one", extra_body={"steps": 50})
    error = raised.value
    assert error.status_code == 504
    assert error.response.headers["x-should-retry"] == "false"  # a retry would start another
    job_id = error.body["job_id"]
    assert error.response.headers["Neurall-Job-Id"] == job_id
    canceled = await client.data(CANCEL, {"id": job_id}, api_key=key)
    assert canceled["cancelJob"]["status"] == "CANCELED"
