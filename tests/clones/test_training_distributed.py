"""Cloning in the distributed form: `neurall serve` takes the upload, a `neurall worker`
trains (its progress reaches cloneEvents through RabbitMQ), a worker killed mid-training
has its message redelivered to another one, which trains again and still deletes the
photos. (Generating with a clone through Triton: test_triton.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.support.clones import CLONE, CREATE_CLONE, clone_events, photos
from tests.support.processes import start_worker

pytestmark = pytest.mark.slow


async def _upload(api: Any, files: list[tuple[str, bytes]], steps: int) -> dict[str, Any]:
    form = aiohttp.FormData()
    variables = {"input": {"name": "Ada", "triggerWord": "sks", "trainingSteps": steps}}
    variables["images"] = [None] * len(files)
    form.add_field("operations", json.dumps({"query": CREATE_CLONE, "variables": variables}))
    form.add_field(
        "map", json.dumps({str(i): [f"variables.images.{i}"] for i in range(len(files))})
    )
    for index, (name, data) in enumerate(files):
        form.add_field(str(index), data, filename=name)
    headers = {"Authorization": f"Bearer {api.key}"}
    async with api.http.post("/graphql", data=form, headers=headers) as response:
        body = await response.json()
    assert "errors" not in body, body
    return body["data"]["createClone"]


async def _clone(api: Any, clone_id: str) -> dict[str, Any]:
    return (await api(CLONE, {"id": clone_id}))["clone"]


async def test_training_on_a_worker_survives_a_crash(stack, api):
    created = await _upload(api, photos(3), steps=100)
    assert created["__typename"] == "Clone", created
    events = asyncio.create_task(clone_events(stack["api"], created["id"], api.key, 300))
    worker, _ = start_worker(stack, 2)
    replacement = None
    try:
        for _ in range(3000):  # until training has visibly started (at most ~5 minutes)
            if (await _clone(api, created["id"]))["step"] >= 2:
                break
            await asyncio.sleep(0.1)
        os.kill(worker.pid, signal.SIGKILL)  # a crash: no finally, no ack
        worker.wait(timeout=10)
        replacement, _ = start_worker(stack, 2)
        messages = await events
        assert messages[-1]["status"] == "READY", messages
        assert messages[-1]["sourceImagesDeleted"] is True
        # Live progress crossed RabbitMQ from the worker processes to the API server.
        assert sum(m["status"] == "TRAINING" and m["step"] > 0 for m in messages) >= 2
        conn = await asyncpg.connect(stack["db"])
        try:
            row = await conn.fetchrow(
                "SELECT attempts, status, source_images_deleted FROM clone WHERE id = $1",
                uuid.UUID(created["id"]),
            )
            charges = await conn.fetchval(
                "SELECT count(*) FROM ledger_entry WHERE reference = $1 AND kind = 'CHARGE'",
                f"clone:{created['id']}",
            )
        finally:
            await conn.close()
        assert (row["status"], row["attempts"], row["source_images_deleted"]) == ("READY", 2, True)
        assert charges == 1
        uploads = stack["procs"].workdir / "data" / "storage" / "uploads" / "clones"
        assert not (uploads / created["id"]).exists()

    finally:
        for process in (worker, replacement):
            if process is not None:
                stack["procs"].stop(process)
