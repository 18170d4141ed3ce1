"""The distributed form: `neurall serve` queues mail on RabbitMQ and a separate
`neurall worker --queues events,mail` relays the sign-up's event (which queues the
confirmation) and sends it through SMTP, retrying while the server is down."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.poll import until
from tests.support.ports import free_port
from tests.support.processes import Processes, wait_http
from tests.support.services import Vhost, truncate_postgres
from tests.support.smtp import SmtpServer, link_token

SIGN_UP = """
mutation { signUp(input: {email: "ada@example.com", password: "a long password"}) {
  __typename } }
"""


@pytest.fixture
def stack(
    tmp_path: Path, postgres_database: str, rabbitmq_vhost: Vhost, smtp: SmtpServer
) -> Iterator[dict[str, Any]]:
    from tests.support.services import run_sync

    run_sync(truncate_postgres(postgres_database))
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONUNBUFFERED": "1",
        "NEURALL_DATA_DIR": str(tmp_path / "data"),
        "NEURALL_DATABASE_URL": postgres_database,
        "NEURALL_BROKER_URL": rabbitmq_vhost.url,
        "NEURALL_SMTP_URL": smtp.url,
        "NEURALL_MAIL_MIN_BACKOFF_MS": "200",
        "NEURALL_MAIL_MAX_BACKOFF_MS": "1000",
        "NEURALL_SECRET_KEY": "distributed-mail-test-secret-0123456789",
    }
    procs = Processes(tmp_path, env)
    try:
        serve, log = procs.start("serve", "serve", "--port", str(port))
        wait_http(f"http://127.0.0.1:{port}/healthz", serve, log)
        yield {"procs": procs, "api": f"http://127.0.0.1:{port}"}
    finally:
        procs.stop_all()


def _post(api: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1
        f"{api}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


async def test_a_worker_sends_through_smtp_and_retries_while_it_is_down(
    stack: dict[str, Any], smtp: SmtpServer
):
    smtp.stop()
    body = _post(stack["api"], SIGN_UP)
    assert body["data"]["signUp"]["__typename"] == "Session", body
    _, log = stack["procs"].start("worker", "worker", "--threads", "2", "--queues", "events,mail")
    await until(  # failed, retried, failed again
        lambda: log.read_text()[-3000:],
        lambda tail: "not sent, attempt 2" in tail,
        within=120,
        every=0.2,
        what="the second failed attempt in the worker's log",
    )
    assert "ada@example.com" not in log.read_text()  # logs name messages by id only
    smtp.start()
    [message] = await smtp.inbox.wait_for("ada@example.com", within_s=120)
    assert link_token(message, "verify-email")
