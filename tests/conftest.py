"""Shared fixtures: a migrated database on each backend, the app, a GraphQL client.

Every test that takes ``database_url`` runs twice, on SQLite and on PostgreSQL. PostgreSQL
is the server `make test` (and CI) starts with scripts/services.sh; when it cannot be
reached the test fails with a message saying so: a missing service is never a skip.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from neurall.app import create_app
from neurall.config import Settings, load_settings
from neurall.orm import database
from tests.support import services
from tests.support.graphql import GraphQLClient
from tests.support.s3 import AWS_ENV, S3Bucket, new_bucket, s3_server
from tests.support.services import (
    BROKER_BASE_URL,
    POSTGRES_ADMIN_URL,
    Vhost,
    drop_database,
    pg_admin,
    rabbitmqctl,
    run_sync,
    truncate_postgres,
)

# pytest-xdist's worker id ("gw0", ...; "main" without xdist): databases, vhosts and
# directories carry it, so a leftover names the worker that made it.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Tests start and stop an app each: its idle webhook threads wake ten times a second here,
# so a stop waits a fifth of a second for them, not two seconds.
os.environ.setdefault("NEURALL_WEBHOOK_POLL_MS", "100")
# One torch thread a process, here and in every process the tests start (they inherit the
# environment; torch is not imported yet). On the tiny models, intra-op threads only add
# overhead: one thread runs the tiny pipeline in less wall time and on less than half the
# CPU of two, and a run has several test processes and servers sharing two cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The fixtures that bring an external service, and the marker each gives a test that uses
# it, directly or through another fixture: the markers follow the fixtures, never a list
# kept by hand.
SERVICE_MARKERS = {
    "postgres_server": "postgres",
    "rabbitmq_server": "rabbitmq",
    "browser": "browser",
    "gpu_server": "gpu_server",
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    services.current_test = item


def pytest_runtest_teardown(item: pytest.Item) -> None:
    # Teardowns run under whichever test comes last (a session fixture's, under the last
    # test of the run), so they are not checked.
    services.current_test = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgres":
            used.add("postgres_server")
        for fixture, marker in SERVICE_MARKERS.items():
            if fixture in used:
                item.add_marker(marker)
    # Slow modules first: make test hands whole modules to its workers in this order, so
    # the longest ones start early instead of finishing last on a worker of their own.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Fixtures shared by several directories (the tiny model, the distributed stack, ...).
pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    run_sync(database.migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server's admin URL, once it answers (a missing server fails)."""

    async def check() -> None:
        await (await pg_admin()).close()

    run_sync(check())
    return POSTGRES_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    name = f"neurall_test_{WORKER}_{uuid.uuid4().hex[:12]}"
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]

    async def create() -> None:
        admin = await pg_admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await database.migrate(f"{base}/{name}")

    run_sync(create())
    yield f"{base}/{name}"
    run_sync(drop_database(name))


@pytest.fixture(scope="session")
def rabbitmq_server() -> str:
    """The RabbitMQ server's base URL, once `rabbitmqctl` reaches it."""
    rabbitmqctl("-q", "await_startup")
    return BROKER_BASE_URL


@pytest.fixture(scope="module")
def rabbitmq_vhost(rabbitmq_server: str) -> Iterator[Vhost]:
    """A RabbitMQ vhost of this test module's own. `neurall worker` consumes every queue of
    its vhost, so stacks on a shared vhost (another module, another run on this machine)
    would take each other's messages; and "every queue" of a privacy sweep must mean
    exactly this stack's queues."""
    name = f"neurall-test-{WORKER}-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield Vhost(name, rabbitmq_server.rstrip("/") + "/" + urllib.parse.quote(name, safe=""))
    rabbitmqctl("delete_vhost", name)


@pytest.fixture(scope="module")
def broker_url(rabbitmq_vhost: Vhost) -> str:
    return rabbitmq_vhost.url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The S3 API server (moto's, on loopback) for the whole run: see tests/support/s3.py."""
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """An empty bucket of this test's own, with the AWS variables set in this process (for
    in-process storage); subprocesses take ``s3_bucket.env``."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return new_bucket(s3_endpoint)


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """An empty, migrated database on each backend."""
    # Tortoise caches each model's SQL by connection name, not dialect; one process that
    # alternates SQLite and PostgreSQL (only this suite does) must forget it between tests.
    EXECUTOR_CACHE.clear()
    if request.param == "sqlite":
        path = tmp_path / "neurall.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite://{path}"
    url = request.getfixturevalue("postgres_database")
    await truncate_postgres(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> GraphQLClient:
    http = await aiohttp_client(create_app(settings))
    return GraphQLClient(http)
