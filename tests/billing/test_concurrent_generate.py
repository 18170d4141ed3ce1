"""200 concurrent ``generate`` calls over HTTP against credits that cover 50 jobs."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from neurall.app import create_app
from neurall.config import Settings
from neurall.orm.billing import LedgerEntry
from tests.support.factories import sign_up
from tests.support.graphql import CHEAP, GraphQLClient
from tests.support.jobs import wait_account_jobs_ended
from tests.support.ledger import assert_invariants
from tests.support.runtime import generation_settings
from tests.support.services import pooled

pytestmark = pytest.mark.slow

GENERATE = """
mutation($input: GenerateInput!) {
  generate(input: $input) {
    __typename ... on Job { id heldCredits } ... on UserError { code }
  }
}
"""


@pytest.fixture
def rush_settings(tmp_path: Path, database_url: str, tiny_models: Path) -> Settings:
    return generation_settings(
        tmp_path / "rush",
        pooled(database_url),
        tiny_models,
        signup_grant_credits=50,
        generates_per_minute_per_account=10_000,
        max_active_jobs_per_account=10_000,  # credits, not the job cap, must be the limit
        requests_per_minute_per_account=10_000,
    )


async def test_200_concurrent_generates_accept_exactly_50(aiohttp_client: Any, rush_settings):
    client = GraphQLClient(await aiohttp_client(create_app(rush_settings)))
    account_id = uuid.UUID((await sign_up(client))["id"])

    async def generate() -> str:
        body = await client.post(GENERATE, {"input": CHEAP})
        assert "errors" not in body, body
        return body["data"]["generate"]["__typename"]

    outcomes = await asyncio.gather(*(generate() for _ in range(200)))
    assert outcomes.count("Job") == 50
    assert outcomes.count("InsufficientCredits") == 150

    # Let the accepted jobs finish (each settles its hold), then audit the books.
    await wait_account_jobs_ended(account_id)
    final = await assert_invariants(account_id)
    assert final.held == 0
    entries = await LedgerEntry.filter(account_id=account_id).values_list(
        "balance_after", "held_after"
    )
    assert all(balance >= 0 and balance - held >= 0 for balance, held in entries)
    assert await LedgerEntry.filter(account_id=account_id, kind="HOLD").count() == 50
