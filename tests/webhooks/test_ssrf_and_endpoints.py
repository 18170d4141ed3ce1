"""SSRF: addresses are judged when the connection is made, through a resolver the test
controls (no traffic leaves loopback); and the endpoint rules: https, at most 10, the
WEBHOOKS scope, secrets shown once."""

from __future__ import annotations

import ipaddress

import pytest

from neurall.config import load_settings
from neurall.orm.webhooks import DeliveryStatus, WebhookDelivery
from neurall.webhooks.http import WebhookHTTP, address_allowed
from tests.support.factories import create_key, sign_up
from tests.support.webhooks import (
    CREATE,
    DELETE,
    ENDPOINTS,
    SEND_TEST,
    UPDATE,
    StaticResolver,
    create_endpoint,
    deliveries,
    wait_delivery_status,
)

pytestmark = pytest.mark.slow

FORBIDDEN = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"]


@pytest.mark.parametrize("address", FORBIDDEN)
async def test_a_name_resolving_to_a_forbidden_address_is_refused_at_connect(address, receiver):
    resolver = StaticResolver({"hooks.example.test": [address]})
    http = WebhookHTTP(timeout_s=5, allow_insecure=False, resolver_factory=lambda: resolver)
    port = receiver.url.split(":")[2].split("/")[0]
    answer = await http.post(f"https://hooks.example.test:{port}/hook", b"{}", {})
    assert answer.status is None
    assert answer.error == "AddressRefused"
    assert resolver.asked == ["hooks.example.test"]  # judged at connect time
    assert receiver.deliveries == []


async def test_rebinding_to_a_private_address_is_refused_on_the_next_attempt(receiver):
    """Allowed while the name points at the (development-allowed) receiver; refused as soon
    as it points at a private address, with no new save in between."""
    resolver = StaticResolver({"rebind.test": ["127.0.0.1"]})
    http = WebhookHTTP(timeout_s=5, allow_insecure=True, resolver_factory=lambda: resolver)
    url = receiver.url.replace("127.0.0.1", "rebind.test")
    assert (await http.post(url, b"{}", {})).status == 200
    resolver.table["rebind.test"] = ["10.0.0.1"]
    refused = await http.post(url, b"{}", {})
    assert refused.error == "AddressRefused"
    # Mixed answers: only the allowed address is connected to.
    resolver.table["rebind.test"] = ["169.254.169.254", "127.0.0.1"]
    assert (await http.post(url, b"{}", {})).status == 200
    assert len(receiver.deliveries) == 2


async def test_literal_addresses_and_redirects(receiver):
    strict = WebhookHTTP(timeout_s=5, allow_insecure=False)
    assert (await strict.post(receiver.url, b"{}", {})).error == "AddressRefused"
    assert (await strict.post("http://[::ffff:127.0.0.1]:1/", b"{}", {})).error == (
        "AddressRefused"
    )
    receiver.plan = [(302, {"Location": "http://10.0.0.1/"}, 0.0)]
    dev = WebhookHTTP(timeout_s=5, allow_insecure=True)
    assert (await dev.post(receiver.url, b"{}", {})).status == 302  # not followed


def test_address_rules():
    def allowed(text: str, loopback: bool = False) -> bool:
        return address_allowed(ipaddress.ip_address(text), allow_loopback=loopback)

    for text in [*FORBIDDEN, "192.168.1.1", "172.16.0.1", "100.100.100.200", "fd00:ec2::254"]:
        assert not allowed(text), text
    assert not allowed("224.0.0.1")
    assert not allowed("0.0.0.0")  # noqa: S104 - the point of the test
    assert not allowed("::ffff:10.0.0.1")
    assert allowed("93.184.216.34")
    assert allowed("2606:4700::1111")
    assert allowed("127.0.0.1", loopback=True)
    assert allowed("::1", loopback=True)
    assert not allowed("10.0.0.1", loopback=True)


def test_insecure_urls_cannot_be_allowed_in_production(tmp_path):
    with pytest.raises(Exception, match="WEBHOOKS_ALLOW_INSECURE_URLS"):
        load_settings(data_dir=tmp_path, production=True, webhooks_allow_insecure_urls=True)


@pytest.mark.usefixtures("database_url")
async def test_a_delivery_to_a_refused_address_fails_without_an_answer(client, resolver):
    await sign_up(client)
    resolver.table["internal.example.test"] = ["10.0.0.1"]
    created = await create_endpoint(client, "https://internal.example.test/hook", ["CREDITS_LOW"])
    await client.data(SEND_TEST, {"id": created["endpoint"]["id"]})
    await wait_delivery_status(created["endpoint"]["id"], DeliveryStatus.FAILED)
    (row,) = await deliveries(client, created["endpoint"]["id"])
    assert (row["attempts"], row["responseStatus"]) == (1, None)


@pytest.mark.usefixtures("database_url")
async def test_urls_are_checked_when_saved(make_strict_client):
    client = await make_strict_client()
    await sign_up(client)
    for url, why in [
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1/x", "private"),
        ("https://[::1]/x", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://localhost/x", "private"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("ftp://hooks.example.com/x", "https"),
        ("https:///nohost", "host"),
    ]:
        body = await client.data(CREATE, {"input": {"url": url, "events": ["JOB_FAILED"]}})
        result = body["createWebhookEndpoint"]
        assert result["__typename"] == "InvalidInput", url
        assert result["fields"] == ["input.url"]
        assert why in result["message"].lower(), (url, result["message"])
    empty = await client.data(CREATE, {"input": {"url": "https://a.example", "events": []}})
    assert empty["createWebhookEndpoint"]["fields"] == ["input.events"]
    test_only = await client.data(
        CREATE, {"input": {"url": "https://a.example", "events": ["WEBHOOK_TEST"]}}
    )
    assert test_only["createWebhookEndpoint"]["fields"] == ["input.events"]


@pytest.fixture
def make_strict_client(aiohttp_client, tmp_path, database_url, tiny_models):
    from neurall.app import create_app
    from tests.support.graphql import GraphQLClient
    from tests.support.runtime import generation_settings

    async def make() -> GraphQLClient:
        settings = generation_settings(tmp_path / "strict", database_url, tiny_models)
        return GraphQLClient(await aiohttp_client(create_app(settings)))

    return make


@pytest.mark.usefixtures("database_url")
async def test_endpoint_crud_scope_and_the_cap_of_ten(client, receiver):
    await sign_up(client)
    plain_key = await create_key(client)  # default scopes: no WEBHOOKS
    webhook_key = await create_key(client, ["WEBHOOKS"], name="hooks")
    refused = await client.data(
        CREATE, {"input": {"url": receiver.url, "events": ["JOB_FAILED"]}}, api_key=plain_key
    )
    assert refused["createWebhookEndpoint"]["code"] == "FORBIDDEN"
    listed = await client.post(ENDPOINTS, api_key=plain_key)
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    created = await create_endpoint(client, receiver.url, ["JOB_FAILED"], api_key=webhook_key)
    endpoint = created["endpoint"]
    assert endpoint["events"] == ["JOB_FAILED"]
    assert endpoint["enabled"] is True
    shown = (await client.data(ENDPOINTS, api_key=webhook_key))["webhookEndpoints"]
    assert shown == [endpoint]
    assert "secret" not in str(shown)  # only create and rotate return it

    changed = await client.data(
        UPDATE,
        {"id": endpoint["id"], "input": {"events": ["JOB_SUCCEEDED", "CREDITS_LOW"]}},
        api_key=webhook_key,
    )
    assert changed["updateWebhookEndpoint"]["events"] == ["CREDITS_LOW", "JOB_SUCCEEDED"]

    for n in range(9):
        await create_endpoint(client, f"{receiver.url}?n={n}", ["JOB_FAILED"])
    eleventh = await client.data(CREATE, {"input": {"url": receiver.url, "events": ["JOB_FAILED"]}})
    assert eleventh["createWebhookEndpoint"]["__typename"] == "InvalidInput"

    # Another account sees none of them.
    await client.http.post("/graphql", json={"query": "mutation { logOut }"})
    await sign_up(client, "grace@example.com")
    assert (await client.data(ENDPOINTS))["webhookEndpoints"] == []
    other = await client.data(DELETE, {"id": endpoint["id"]})
    assert other["deleteWebhookEndpoint"]["code"] == "NOT_FOUND"
    assert await WebhookDelivery.all().count() == 0
