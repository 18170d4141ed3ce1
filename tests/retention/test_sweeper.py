"""The retention sweeper: registered policies run and report what they removed."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from neurall.orm.accounts import Account, Session
from neurall.retention.sweeper import POLICIES, run_policies
from neurall.storage import make_storage

pytestmark = pytest.mark.usefixtures("database_url")


async def _session(account: Account, token: str, expires_in: timedelta, seen_ago: timedelta):
    now = datetime.now(UTC)
    return await Session.create(
        account=account,
        token_hash=token * 64,
        expires_at=now + expires_in,
        last_seen_at=now - seen_ago,
    )


async def test_expired_and_idle_sessions_are_swept(client, settings):
    account = await Account.create(email="ada@example.com")
    idle = timedelta(seconds=settings.session_idle_timeout_s + 60)
    live = await _session(account, "a", timedelta(days=1), timedelta(minutes=1))
    await _session(account, "b", timedelta(seconds=-1), timedelta(minutes=1))
    await _session(account, "c", timedelta(days=1), idle)
    removed = await run_policies(settings, make_storage(settings))
    assert removed["expired-sessions"] == 2
    assert [s.id for s in await Session.all()] == [live.id]
    assert all(count >= 0 for count in removed.values())


def test_the_cli_runs_every_policy(tmp_path):
    env = {"NEURALL_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for command in (["migrate"], ["retention", "run"]):
        result = subprocess.run(
            [sys.executable, "-m", "neurall.cli", *command],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    for policy in POLICIES:
        assert f"{policy.name}: 0" in result.stdout
