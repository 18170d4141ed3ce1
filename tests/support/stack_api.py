"""A GraphQL client of one account on a running `neurall serve` (a real process, reached
over HTTP), for the tests of the distributed stack."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import FormData

from tests.support.graphql import CREATE_KEY, GENERATE, PASSWORD, SIGN_UP
from tests.support.jobs import wait_done


class StackApi:
    """One account: ``key`` for API calls, the session cookie else (``api=False``)."""

    def __init__(self, http: aiohttp.ClientSession, key: str) -> None:
        self.http, self.key = http, key

    async def data(
        self, query: str, variables: dict | None = None, *, api_key: str | None = None
    ) -> Any:
        """The ``data`` of a response that must have no errors (``api_key``: as that key)."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        async with self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        ) as response:
            body = await response.json()
        assert "errors" not in body, body
        return body["data"]

    async def __call__(self, query: str, variables: dict | None = None, *, api: bool = True):
        return await self.data(query, variables, api_key=self.key if api else None)

    async def generate(
        self, *, api: bool = True, files: dict[str, bytes] | None = None, **fields: Any
    ) -> str:
        """Submit a job; ``files`` (initImage, mask) go as a GraphQL multipart request."""
        variables = {"input": {"seed": 5, "steps": 4, **fields}}
        if files:
            data = await self.multipart(variables, files, api=api)
        else:
            data = await self(GENERATE, variables, api=api)
        assert data["generate"]["__typename"] == "Job", data
        return data["generate"]["id"]

    async def multipart(self, variables: dict, files: dict[str, bytes], *, api: bool) -> dict:
        form = FormData()
        variables["input"].update(dict.fromkeys(files))
        form.add_field("operations", json.dumps({"query": GENERATE, "variables": variables}))
        paths = {str(i): [f"variables.input.{name}"] for i, name in enumerate(files)}
        form.add_field("map", json.dumps(paths))
        for index, data in enumerate(files.values()):
            form.add_field(str(index), data, filename="in.png", content_type="image/png")
        headers = {"X-Neurall-CSRF": "1"}
        if api:
            headers["Authorization"] = f"Bearer {self.key}"
        async with self.http.post("/graphql", data=form, headers=headers) as response:
            body = await response.json()
        assert "errors" not in body, body
        return body["data"]

    async def wait(self, job_id: str, *, api: bool = True, within: float = 120) -> dict:
        """The job once it has ended."""
        return await wait_done(self, job_id, self.key if api else None, within=within)

    async def get(self, url: str, *, api: bool = True) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.key}"} if api else {}
        async with self.http.get(url, headers=headers) as response:
            return response.status, await response.read()


@contextlib.asynccontextmanager
async def stack_account(base_url: str, *, keep_session: bool = True) -> AsyncIterator[StackApi]:
    """A new account on the API at ``base_url`` with a key of all scopes; signed in unless
    ``keep_session`` is false (then only its key speaks for it)."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(base_url=base_url, cookie_jar=jar) as http:
        client = StackApi(http, "")
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        signed = await client.data(SIGN_UP, {"input": {"email": email, "password": PASSWORD}})
        assert signed["signUp"]["__typename"] == "Session", signed
        created = await client.data(CREATE_KEY, {"name": "k", "scopes": None})
        client.key = created["createApiKey"]["secret"]
        if not keep_session:
            http.cookie_jar.clear()
        yield client
