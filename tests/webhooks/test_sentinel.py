"""The sentinel sweep with webhooks on: a canary prompt on an API job whose events are
delivered (and retried, so messages sit in the webhooks delay queue) leaves no trace in
the database, the logs, any queue or the delivery log. Real processes: `neurall serve`,
`neurall worker`, `neurall gpu`, RabbitMQ, PostgreSQL (tests/support/sentinel.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import distributed_stack, start_worker
from tests.support.sentinel import Places, sweep
from tests.support.services import Vhost
from tests.support.stack_api import StackApi, stack_account
from tests.support.webhooks import ALL_EVENTS, CREATE, DELIVERIES


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: Path,
    rabbitmq_vhost: Vhost,
    postgres_server: str,
    gpu_server: Path,
) -> Iterator:
    workdir = tmp_path_factory.mktemp("webhook-sentinel")
    env = {"NEURALL_WEBHOOKS_ALLOW_INSECURE_URLS": "true"}
    with distributed_stack(
        workdir, tiny_models, rabbitmq_vhost.url, max_queue_delay_us=1000, extra_env=env
    ) as s:
        places = Places(rabbitmq_vhost.url, rabbitmq_vhost.name, s["db"], [workdir])
        yield {**s, "places": places}


@pytest.fixture
async def api(stack: dict) -> AsyncIterator[StackApi]:
    async with stack_account(stack["api"]) as client:
        yield client


async def test_a_canary_on_an_api_job_with_webhooks_on_leaves_no_trace(stack, api, receiver):
    places, secret = stack["places"], f"sentinel-{uuid.uuid4().hex}"
    created = await api(CREATE, {"input": {"url": receiver.url, "events": ALL_EVENTS}}, api=False)
    endpoint = created["createWebhookEndpoint"]
    receiver.secrets = [endpoint["secret"]]
    # The first answer asks for a retry in 30 s: it waits in the webhooks delay queue
    # while the places are scanned.
    receiver.plan = [(503, {"Retry-After": "30"}, 0.0)]
    job_id = await api.generate(prompt=f"a fox {secret}", negativePrompt=f"blur {secret}")
    process, _ = start_worker(stack)
    try:
        assert (await api.wait(job_id))["status"] == "SUCCEEDED"
        await receiver.wait_for(2, within=60)
    finally:
        # Stopped, the worker hands its prefetched retry back to the delay queue.
        stack["procs"].stop(process)
    queued = places.queue_messages()
    assert queued.get("webhooks.DQ"), queued  # the retry, waiting
    assert places.scan([secret.encode()]) == []  # ... and carrying only a delivery id
    process, _ = start_worker(stack)
    try:
        await receiver.wait_for(3, within=90)
    finally:
        stack["procs"].stop(process)
    sweep(stack["env"])
    for delivery in receiver.deliveries:
        assert secret.encode() not in delivery.body
        assert delivery.verified_with == [endpoint["secret"]]
    page = await api(DELIVERIES, {"id": endpoint["endpoint"]["id"], "first": 50}, api=False)
    log = page["webhookDeliveries"]["edges"]
    assert log
    assert secret not in str(log)
    assert places.scan([secret.encode()]) == []
