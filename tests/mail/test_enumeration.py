"""requestPasswordReset tells nobody whether an account has an address: the same answer,
and answer times drawn from the same distribution, for existing and unknown addresses."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import pytest

from neurall.app import create_app
from neurall.config import load_settings
from neurall.orm.accounts import Account
from tests.support.graphql import GraphQLClient
from tests.support.smtp import SmtpServer

pytestmark = [pytest.mark.usefixtures("database_url"), pytest.mark.serial]

REQUEST = """
mutation($email: String!) {
  requestPasswordReset(email: $email) { __typename ... on Accepted { message } }
}
"""
SAMPLES = 24


def ks_statistic(a: list[float], b: list[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical
    distribution functions."""
    points = sorted(a + b)
    return max(
        abs(sum(x <= p for x in a) / len(a) - sum(x <= p for x in b) / len(b)) for p in points
    )


async def test_existing_and_unknown_addresses_are_indistinguishable(
    aiohttp_client, tmp_path: Path, database_url: str, smtp: SmtpServer
):
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        smtp_url=smtp.url,
        password_reset_response_ms=250,
        # Every request must reach the work being timed.
        password_resets_per_email_per_hour=SAMPLES,
        password_resets_per_ip_per_hour=4 * SAMPLES,
    )
    client = GraphQLClient(await aiohttp_client(create_app(settings)))
    known = [f"user{n}@example.com" for n in range(SAMPLES)]
    await Account.bulk_create([Account(email=address) for address in known])
    unknown = [f"stranger{n}@example.com" for n in range(SAMPLES)]
    # Interleaved in random order, so drift on this shared machine hits both alike.
    calls = [(True, a) for a in known] + [(False, a) for a in unknown]
    random.Random(18).shuffle(calls)

    times: dict[bool, list[float]] = {True: [], False: []}
    answers: dict[bool, set[str]] = {True: set(), False: set()}
    for exists, address in calls:
        started = time.perf_counter()
        body = await client.post(REQUEST, {"email": address})
        times[exists].append(time.perf_counter() - started)
        answers[exists].add(repr(body))

    assert answers[True] == answers[False]
    assert len(answers[True]) == 1
    assert min(times[True] + times[False]) >= 0.25
    # The distributions agree: medians within 30 ms, and a two-sample KS statistic below
    # the 1 % critical value for 24 + 24 samples (1.63 * sqrt(2/24) = 0.47).
    gap = abs(statistics.median(times[True]) - statistics.median(times[False]))
    assert gap < 0.03, (statistics.median(times[True]), statistics.median(times[False]))
    assert ks_statistic(times[True], times[False]) < 0.47, times
    await smtp.inbox.wait_for(known[0])  # and the existing ones did get a link
