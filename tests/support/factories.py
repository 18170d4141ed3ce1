"""Factories for what tests start from: accounts, API keys, jobs and clones, made through
the API (as a user would) or as rows (quicker, where the API is not what is tested)."""

from __future__ import annotations

import uuid
from typing import Any

from neurall.billing import ledger
from neurall.orm.accounts import Account
from neurall.orm.clones import Clone, CloneStatus
from tests.support.clones import clone_events, upload
from tests.support.graphql import CREATE_KEY, GENERATE, PASSWORD, SIGN_UP, base, small_input

# Through the API (``client``: a GraphQLClient or anything with the same ``data``).


async def sign_up(client: Any, email: str = "ada@example.com", name: str | None = None) -> dict:
    """A new account, signed in on ``client``; its ``account`` fields."""
    data = await client.data(
        SIGN_UP, {"input": {"email": email, "password": PASSWORD, "name": name}}
    )
    assert data["signUp"]["__typename"] == "Session", data
    return data["signUp"]["account"]


async def create_key(client: Any, scopes: list[str] | None = None, name: str = "key") -> str:
    """A new API key of the signed-in account; its secret."""
    data = await client.data(CREATE_KEY, {"name": name, "scopes": scopes})
    assert data["createApiKey"]["__typename"] == "CreatedApiKey", data
    return data["createApiKey"]["secret"]


async def generate(client: Any, api_key: str | None = None, **overrides: Any) -> dict:
    """A job accepted for ``small_input(**overrides)``."""
    data = await client.data(GENERATE, {"input": small_input(**overrides)}, api_key=api_key)
    assert data["generate"]["__typename"] == "Job", data
    return data["generate"]


async def create_clone(client: Any, files: list[tuple[str, bytes]], **kw: Any) -> dict[str, Any]:
    """The createClone answer for ``files`` (``kw``: see ``upload``)."""
    response = await upload(client, files, **kw)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert "errors" not in body, body
    return body["data"]["createClone"]


async def trained_clone(client: Any, key: str, files: list) -> dict[str, Any]:
    """A clone created from ``files`` through the API, once its events say READY."""
    created = await create_clone(client, files, variables={"input": {"name": "Ada"}}, api_key=key)
    assert created["__typename"] == "Clone", created
    events = await clone_events(base(client), created["id"], key)
    assert events[-1]["status"] == "READY", events
    return events[-1]


# As rows (on an open Tortoise database).


async def make_account(credits: int = 100, email: str | None = None) -> Account:
    """An account row with ``credits`` granted through the ledger."""
    account = await Account.create(email=email or f"{uuid.uuid4().hex[:8]}@example.com")
    if credits:
        await ledger.grant(account.id, credits, "test", f"grant:{account.id}")
    return await Account.get(id=account.id)


async def ready_clone_row(
    account_id: Any, *, name: str, trigger_word: str, adapter_key: str
) -> Clone:
    """A READY clone row with no weights behind ``adapter_key``: enough where nothing loads
    them, or where their absence is the point."""
    return await Clone.create(
        account_id=account_id,
        name=name,
        trigger_word=trigger_word,
        status=CloneStatus.READY,
        image_count=3,
        total_steps=1,
        step=1,
        source_images_deleted=True,
        adapter_key=adapter_key,
    )
