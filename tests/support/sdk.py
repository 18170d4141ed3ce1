"""What the Python SDK's tests (tests/client/) share: accounts made over plain HTTP on a
running `neurall serve`, and a reverse proxy in front of it that can answer one
``generate`` with a 503 after the server has done it (a lost answer), or cut every
websocket it carries (a dropped connection)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from aiohttp import WSMsgType, web

from tests.support.graphql import CREATE_KEY, PASSWORD, SIGN_UP
from tests.support.ports import free_port

SPEND_LIMIT = """
mutation($id: ID!, $limit: SpendLimitInput!) {
  setApiKeySpendLimit(id: $id, limit: $limit) { __typename }
}
"""


@dataclass
class Account:
    session: httpx.Client  # signed in (cookie)
    key: str
    key_id: str

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """``data`` of a session request that must have no errors."""
        body = self.session.post("/graphql", json={"query": query, "variables": variables or {}},
                                 **kw).json()  # fmt: skip
        assert "errors" not in body, body
        return body["data"]

    def new_key(self, scopes: list[str] | None = None) -> tuple[str, str]:
        created = self.data(CREATE_KEY, {"name": "k", "scopes": scopes})["createApiKey"]
        return created["secret"], created["apiKey"]["id"]


def sign_up(base: str) -> Account:
    """A new account with a key of every scope, its session kept."""
    session = httpx.Client(base_url=base, timeout=30)
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    account = Account(session, "", "")
    signed = account.data(SIGN_UP, {"input": {"email": email, "password": PASSWORD}})
    assert signed["signUp"]["__typename"] == "Session", signed
    account.key, account.key_id = account.new_key()
    return account


def set_spend_limit(account: Account, key_id: str, credits: int) -> None:
    result = account.data(SPEND_LIMIT, {"id": key_id, "limit": {"credits": credits}})
    assert result["setApiKeySpendLimit"]["__typename"] == "ApiKey", result


@dataclass
class Proxy:
    """A reverse proxy to ``upstream`` on its own loop and thread. ``fail_generates``: that
    many ``generate`` requests are forwarded, their answers dropped and replaced by 503
    with Retry-After (the server did the work; the client never heard). ``refuse_with``
    (503 or 429): every POST gets that status and Retry-After without reaching the server.
    ``drop_after``: the first job event of that type (e.g. ``"PROGRESS"``) is passed on,
    then the socket is cut at once and nothing more of it reaches the client, so a drop
    falls mid-stream however fast the job runs."""

    upstream: str
    url: str = ""
    fail_generates: int = 0
    drop_after: str | None = None
    refuse_with: int | None = None
    posts: list[bytes] = field(default_factory=list)
    socket_count: int = 0
    # The variables of every subscribe message the clients sent through it.
    subscribed: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> Proxy:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait(10)
        return self

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        started.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        self._http = aiohttp.ClientSession()
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        async def close() -> None:
            await self._runner.cleanup()
            await self._http.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length")}  # fmt: skip
        if request.method == "POST":
            self.posts.append(body)
            if self.refuse_with is not None:
                return _unavailable(self.refuse_with)
        url = self.upstream + request.path_qs
        async with self._http.request(request.method, url, data=body, headers=headers) as up:
            answer = await up.read()
            if request.method == "POST" and self.fail_generates and b"generate(" in body:
                self.fail_generates -= 1
                return _unavailable()
            return web.Response(body=answer, status=up.status,
                                content_type=up.content_type)  # fmt: skip

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        client = web.WebSocketResponse(protocols=["graphql-transport-ws"])
        await client.prepare(request)
        self.socket_count += 1
        url = "ws" + self.upstream[len("http") :] + request.path_qs
        async with self._http.ws_connect(url, protocols=["graphql-transport-ws"]) as server:

            async def pump_up() -> None:
                async for message in client:
                    if message.type == WSMsgType.TEXT:
                        sent = json.loads(message.data)
                        if sent.get("type") == "subscribe":
                            self.subscribed.append(sent["payload"].get("variables") or {})
                        await server.send_str(message.data)
                await server.close()

            up = asyncio.ensure_future(pump_up())
            async for message in server:
                if message.type == WSMsgType.TEXT:
                    await client.send_str(message.data)
                    if self.drop_after is not None and _event_type(message.data) == self.drop_after:
                        self.drop_after = None
                        # No close frame: the connection simply ends, as a network failure
                        # does.
                        request.transport.abort()  # type: ignore[union-attr]
                        break
            up.cancel()
            if server.close_code is not None and not client.closed:
                await client.close(code=server.close_code)
        return client


def _unavailable(status: int = 503) -> web.Response:
    return web.json_response(
        {"data": None, "errors": [{"message": "Service unavailable.",
                                   "extensions": {"code": "SERVICE_UNAVAILABLE",
                                                  "retryAfterSeconds": 1}}]},
        status=status,
        headers={"Retry-After": "1"},
    )  # fmt: skip


def _event_type(text: str) -> str | None:
    """The jobEvents event type a graphql-transport-ws message carries, if any."""
    payload = json.loads(text).get("payload")
    data = payload.get("data") if isinstance(payload, dict) else None
    event = (data or {}).get("jobEvents") or {}
    return event.get("type")
