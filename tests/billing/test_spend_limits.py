"""Per-key spend limits: counted under the account's credit lock, so concurrent calls
through one key cannot overshoot; held credits count, released ones come back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from neurall.app import create_app
from neurall.billing import ledger
from neurall.billing.spend_limits import SpendPeriod, period_bounds
from neurall.config import Settings
from neurall.errors import SpendLimitReachedError
from neurall.orm.billing import Hold
from tests.support.factories import create_key, sign_up
from tests.support.graphql import CHEAP, GraphQLClient
from tests.support.jobs import wait_account_jobs_ended
from tests.support.ledger import assert_invariants
from tests.support.runtime import generation_settings
from tests.support.services import pooled

GENERATE = """
mutation($input: GenerateInput!) {
  generate(input: $input) {
    __typename
    ... on Job { id heldCredits }
    ... on UserError { code message }
    ... on SpendLimitReached { limit spent resetsAt }
  }
}
"""
SET_LIMIT = """
mutation($id: ID!, $limit: SpendLimitInput!) {
  setApiKeySpendLimit(id: $id, limit: $limit) {
    __typename
    ... on ApiKey { id spendLimit { credits period spent resetsAt } }
    ... on UserError { code message }
  }
}
"""
KEYS = "{ apiKeys { id name spendLimit { credits period spent resetsAt } } }"
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { __typename } }"


@pytest.fixture
def capped_settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(
        tmp_path / "capped",
        pooled(database_url),
        tiny_models,
        signup_grant_credits=500,
        generates_per_minute_per_account=10_000,
        max_active_jobs_per_account=10_000,  # the key's cap, nothing else, must bind
        requests_per_minute_per_account=10_000,
        requests_per_minute_per_api_key=10_000,
    )


async def _key_id(client: GraphQLClient) -> str:
    return (await client.data(KEYS))["apiKeys"][0]["id"]


async def test_100_concurrent_generates_through_a_key_capped_at_10_accept_exactly_10(
    aiohttp_client: Any, capped_settings: Settings
):
    client = GraphQLClient(await aiohttp_client(create_app(capped_settings)))
    account_id = uuid.UUID((await sign_up(client))["id"])
    key = await create_key(client, ["GENERATE"])
    limited = await client.data(
        SET_LIMIT, {"id": await _key_id(client), "limit": {"credits": 10, "period": "DAY"}}
    )
    assert limited["setApiKeySpendLimit"]["spendLimit"]["spent"] == 0

    async def generate() -> dict[str, Any]:
        return (await client.data(GENERATE, {"input": CHEAP}, api_key=key))["generate"]

    outcomes = await asyncio.gather(*(generate() for _ in range(100)))
    kinds = [o["__typename"] for o in outcomes]
    assert kinds.count("Job") == 10, kinds
    assert kinds.count("SpendLimitReached") == 90
    refused = next(o for o in outcomes if o["__typename"] == "SpendLimitReached")
    assert refused["code"] == "SPEND_LIMIT_REACHED"
    assert refused["limit"] == 10
    assert refused["spent"] == 10
    _, tomorrow = period_bounds(SpendPeriod.DAY, datetime.now(UTC))
    assert datetime.fromisoformat(refused["resetsAt"]) == tomorrow

    await wait_account_jobs_ended(account_id)
    final = await assert_invariants(account_id)
    assert final.held == 0
    shown = (await client.data(KEYS))["apiKeys"][0]["spendLimit"]
    assert shown == {
        "credits": 10,
        "period": "DAY",
        "spent": 10,  # charged now, no longer held: still counts
        "resetsAt": tomorrow.isoformat(),
    }
    # The session (no key) is bound by the account's credits only.
    assert (await client.data(GENERATE, {"input": CHEAP}))["generate"]["__typename"] == "Job"


async def test_set_spend_limit_validates_and_null_removes_the_cap(client: GraphQLClient):
    await sign_up(client)
    key = await create_key(client, ["GENERATE"])
    key_id = await _key_id(client)
    body = await client.data(SET_LIMIT, {"id": key_id, "limit": {"credits": 3, "period": "MONTH"}})
    shown = body["setApiKeySpendLimit"]["spendLimit"]
    assert (shown["credits"], shown["period"], shown["spent"]) == (3, "MONTH", 0)
    _, next_month = period_bounds(SpendPeriod.MONTH, datetime.now(UTC))
    assert datetime.fromisoformat(shown["resetsAt"]) == next_month

    body = await client.data(SET_LIMIT, {"id": key_id, "limit": {"credits": None}})
    assert body["setApiKeySpendLimit"]["spendLimit"] is None
    bad = await client.data(SET_LIMIT, {"id": key_id, "limit": {"credits": -1}})
    assert bad["setApiKeySpendLimit"]["code"] == "INVALID_INPUT"
    other = await client.data(SET_LIMIT, {"id": str(uuid.uuid4()), "limit": {"credits": 1}})
    assert other["setApiKeySpendLimit"]["code"] == "NOT_FOUND"
    # A key cannot lift its own cap: account management needs a session.
    own = await client.post(SET_LIMIT, {"id": key_id, "limit": {"credits": None}}, api_key=key)
    assert own["data"]["setApiKeySpendLimit"]["code"] == "FORBIDDEN"


async def test_create_api_key_takes_a_cap_and_regenerate_keeps_it(client: GraphQLClient):
    await sign_up(client)
    created = await client.data(
        """mutation { createApiKey(name: "capped", spendLimit: {credits: 5}) {
             ... on CreatedApiKey { apiKey { id spendLimit { credits period } } } } }"""
    )
    api_key = created["createApiKey"]["apiKey"]
    assert api_key["spendLimit"] == {"credits": 5, "period": "DAY"}
    regenerated = await client.data(
        """mutation($id: ID!) { regenerateApiKey(id: $id) {
             ... on CreatedApiKey { apiKey { spendLimit { credits period } } } } }""",
        {"id": api_key["id"]},
    )
    assert regenerated["regenerateApiKey"]["apiKey"]["spendLimit"]["credits"] == 5


def test_period_bounds_are_utc_calendar_days_and_months():
    moment = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert period_bounds(SpendPeriod.DAY, moment) == (
        datetime(2026, 12, 31, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert period_bounds(SpendPeriod.MONTH, moment) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


async def test_held_counts_charged_counts_released_comes_back(account):
    """Domain level: the hold carries the key; an open hold counts in full, a settled one
    by its charge, a released one not at all."""
    from neurall.billing import spend_limits
    from neurall.orm.accounts import ApiKey

    key = await ApiKey.create(
        account=account, name="k", prefix="nk_x", key_hash=uuid.uuid4().hex, scopes="GENERATE"
    )
    key.spend_limit_credits = 4
    await ledger.grant(account.id, 10, "test", "grant:spend")
    await ledger.hold(account.id, 3, "job:a", api_key=key)
    assert (await Hold.get(reference="job:a")).api_key_id == key.id
    await ledger.settle("job:a", 2)
    status = await spend_limits.status(key, datetime.now(UTC))
    assert status is not None
    assert status.spent == 2
    await ledger.hold(account.id, 2, "job:b", api_key=key)
    with pytest.raises(SpendLimitReachedError) as refused:
        await ledger.hold(account.id, 1, "job:c", api_key=key)
    assert (refused.value.limit, refused.value.spent) == (4, 4)
    assert not await Hold.filter(reference="job:c").exists()
    await ledger.release("job:b")
    await ledger.hold(account.id, 2, "job:c", api_key=key)  # the released 2 came back


async def test_create_clone_through_a_capped_key_answers_spend_limit_reached(
    client: GraphQLClient,
):
    from tests.support.clones import photos
    from tests.support.factories import create_clone

    await sign_up(client)
    key = await create_key(client, ["CLONE"])
    await client.data(SET_LIMIT, {"id": await _key_id(client), "limit": {"credits": 0}})
    query = """mutation($input: CreateCloneInput!, $images: [Upload!]!) {
      createClone(input: $input, images: $images) {
        __typename ... on SpendLimitReached { code limit spent resetsAt } } }"""
    result = await create_clone(client, photos(3), api_key=key, query=query)
    assert result["__typename"] == "SpendLimitReached", result
    assert (result["code"], result["limit"], result["spent"]) == ("SPEND_LIMIT_REACHED", 0, 0)
