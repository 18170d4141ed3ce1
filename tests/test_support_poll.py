"""The support poller (tests/support/poll.py): it returns the first answer that will do,
and fails within its bound naming the last answer (or the last ignored error)."""

from __future__ import annotations

import pytest

from tests.support.poll import until, until_sync


async def test_until_returns_the_first_answer_that_will_do():
    answers = iter(range(10))

    async def probe() -> int:
        return next(answers)

    assert await until(probe, lambda n: n >= 3, within=5, every=0.001) == 3


async def test_until_fails_with_the_last_answer():
    with pytest.raises(AssertionError, match=r"big enough not within .* last: 7"):
        await until(lambda: 7, lambda n: n > 100, within=0.05, every=0.01, what="big enough")


def test_until_sync_ignores_the_named_errors_and_reports_the_last():
    def refused() -> None:
        raise OSError("refused")

    with pytest.raises(AssertionError, match=r"last: OSError\('refused'\)"):
        until_sync(refused, within=0.05, every=0.01, ignore=(OSError,))
    with pytest.raises(ValueError, match="invalid literal"):
        until_sync(lambda: int("x"), within=1)
