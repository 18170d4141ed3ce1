"""The database rate-limit backend: one set of buckets for every API process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid

import pytest

from neurall.errors import RateLimitedError
from neurall.orm import database
from neurall.orm.ratelimit import RateLimitBucket
from neurall.ratelimit_database import DatabaseBackend, delete_idle_buckets
from tests.support.services import pooled


@pytest.fixture
async def db(database_url):
    async with database.database(pooled(database_url)):
        yield database_url


async def _successes(backends: list[DatabaseBackend], attempts: int, key: str) -> int:
    async def attempt(n: int) -> bool:
        try:
            await backends[n % len(backends)].take(key)
        except RateLimitedError:
            return False
        return True

    return sum(await asyncio.gather(*(attempt(n) for n in range(attempts))))


async def test_concurrent_takes_from_two_backends_spend_each_token_once(db):
    # Two backends stand for two API processes: neither keeps any state of its own.
    backends = [DatabaseBackend(10, 3600), DatabaseBackend(10, 3600)]
    assert await _successes(backends, 60, "generate:acct") == 10
    with pytest.raises(RateLimitedError) as limited:
        await backends[0].take("generate:acct")
    assert 0 < limited.value.retry_after_s <= 360  # one token refills in 6 minutes
    await backends[1].take("generate:other")  # another key has its own bucket


async def test_refill_over_time_and_refusals_change_nothing(db):
    now = [1_000_000.0]
    bucket = DatabaseBackend(2, 60, clock=lambda: now[0])  # one token per 30 s
    await bucket.take("k")
    await bucket.take("k")
    for _ in range(3):
        with pytest.raises(RateLimitedError):
            await bucket.take("k")
    row = await RateLimitBucket.get(key="k")
    assert row.tokens == pytest.approx(0.0)
    now[0] += 30
    await bucket.take("k")  # exactly one token came back
    with pytest.raises(RateLimitedError) as limited:
        await bucket.check("k")
    assert limited.value.retry_after_s == pytest.approx(30.0)
    now[0] += 10_000
    await bucket.check("k", 2)  # never more than the capacity
    with pytest.raises(RateLimitedError):
        await bucket.check("k", 3)
    assert await delete_idle_buckets(now[0] + 86_400, idle_s=86_400) == 1


_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from neurall.errors import RateLimitedError
    from neurall.orm import database
    from neurall.ratelimit_database import DatabaseBackend

    async def main(url, key):
        async with database.database(url):
            backend = DatabaseBackend(25, 3600)
            async def one():
                try:
                    await backend.take(key)
                    return 1
                except RateLimitedError:
                    return 0
            print(sum(await asyncio.gather(*(one() for _ in range(40)))))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_separate_processes_share_the_buckets(postgres_database):
    # Real processes on PostgreSQL (several processes on one SQLite file is not a
    # deployment this backend is for).
    url = pooled(postgres_database)
    key = f"shared:{uuid.uuid4()}"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WORKER, url, key, stdout=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [await p.communicate() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sum(int(out.strip()) for out, _ in outputs) == 25
