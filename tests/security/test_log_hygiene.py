"""Even at --log-level debug, database drivers do not log statement values."""

from __future__ import annotations

import logging

import pytest

from neurall.cli import CHATTY_LOGGERS, configure_logging
from neurall.orm import database
from neurall.orm.accounts import Account


@pytest.fixture
def restore_levels():
    names = ["", *CHATTY_LOGGERS]
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def test_debug_logging_keeps_statement_values_out(database_url, caplog, restore_levels):
    configure_logging("debug")
    canary = "canary-7f3a@example.com"
    with caplog.at_level(logging.DEBUG):
        async with database.database(database_url):
            await Account.create(email=canary, password_hash="hash-canary-91c2")
            assert await Account.get_or_none(email=canary) is not None
    assert caplog.records, "debug logging produced nothing at all"
    assert canary not in caplog.text
    assert "hash-canary-91c2" not in caplog.text
