"""/healthz says the process is alive; /readyz says whether the database answers."""

from __future__ import annotations

import socket

import pytest

from neurall.app import create_app
from neurall.config import load_settings


@pytest.mark.usefixtures("database_url")
async def test_ready_when_the_database_answers(client):
    assert (await client.http.get("/healthz")).status == 200
    response = await client.http.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready"}


async def test_not_ready_when_the_database_is_down(aiohttp_client, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(
        data_dir=tmp_path, database_url=f"postgres://nobody:x@127.0.0.1:{port}/nothing"
    )
    http = await aiohttp_client(create_app(settings))
    assert (await http.get("/healthz")).status == 200
    response = await http.get("/readyz")
    assert response.status == 503
    body = await response.text()
    assert "nobody" not in body
    assert str(port) not in body
