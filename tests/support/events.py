"""A jobEvents subscription over a real graphql-transport-ws socket, and what the tests
check of the events and images it brings."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from typing import Any

import websockets
from PIL import Image

from tests.support.graphql import EVENTS


class EventStream:
    """One jobEvents subscription over a real graphql-transport-ws socket."""

    def __init__(self, url: str, headers: dict[str, str], init: dict[str, Any]) -> None:
        self.url, self.headers, self.init = url, headers, init
        self.socket: Any = None
        self.op_id = str(uuid.uuid4())

    async def open(
        self, job_id: str, after_seq: int | None = None, query: str = EVENTS
    ) -> EventStream:
        self.socket = await websockets.connect(
            self.url, subprotocols=["graphql-transport-ws"], additional_headers=self.headers
        )
        await self.socket.send(json.dumps({"type": "connection_init", "payload": self.init}))
        ack = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        variables = {"jobId": job_id, "afterSeq": after_seq}
        await self.socket.send(
            json.dumps(
                {
                    "id": self.op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables},
                }
            )
        )
        return self

    async def next(self, within: float = 60) -> dict[str, Any]:
        """The next message: {"event": ...}, {"errors": ...} or {"complete": True}."""
        message = json.loads(await asyncio.wait_for(self.socket.recv(), within))
        if message["type"] == "next":
            payload = message["payload"]
            if payload.get("errors"):
                return {"errors": payload["errors"]}
            return {"event": payload["data"]["jobEvents"]}
        if message["type"] == "error":
            return {"errors": message["payload"]}
        if message["type"] == "complete":
            return {"complete": True}
        raise AssertionError(f"unexpected message {message}")

    async def until_end(self, within: float = 120) -> list[dict[str, Any]]:
        events = []
        while True:
            message = await self.next(within)
            if "complete" in message:
                return events
            assert "event" in message, message
            events.append(message["event"])

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


def ws_stream(
    base_http: str, *, api_key: str | None = None, cookie: str | None = None
) -> EventStream:
    url = base_http.replace("http://", "ws://", 1) + "/graphql"
    headers = {"Cookie": cookie} if cookie else {}
    init = {"authorization": f"Bearer {api_key}"} if api_key else {}
    return EventStream(url, headers, init)


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def check_progress(events: list[dict[str, Any]], steps: int) -> None:
    """Strictly increasing seq; a PROGRESS per step 1..steps in order; SUCCEEDED last."""
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), seqs
    progress = [e["step"] for e in events if e["type"] == "PROGRESS"]
    assert progress == list(range(1, steps + 1)), [(e["type"], e["step"]) for e in events]
    assert events[-1]["type"] == "SUCCEEDED"
    assert events[-1]["status"] == "SUCCEEDED"
