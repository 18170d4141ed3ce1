"""Small helpers shared by tests: sign-up flows and API keys."""

from __future__ import annotations

from typing import Any

SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) {
    __typename
    ... on Session { account { id email name credits heldCredits marketingOptIn } }
    ... on UserError { code message }
    ... on InvalidInput { fields errors { field message } }
    ... on RateLimited { retryAfterSeconds }
  }
}
"""

CREATE_KEY = """
mutation($name: String!, $scopes: [ApiKeyScope!]) {
  createApiKey(name: $name, scopes: $scopes) {
    __typename
    ... on CreatedApiKey { secret apiKey { id name prefix scopes } }
    ... on UserError { code message }
  }
}
"""

PASSWORD = "correct horse battery staple"


async def sign_up(client: Any, email: str = "ada@example.com", name: str | None = None) -> dict:
    data = await client.data(
        SIGN_UP, {"input": {"email": email, "password": PASSWORD, "name": name}}
    )
    assert data["signUp"]["__typename"] == "Session", data
    return data["signUp"]["account"]


async def create_key(client: Any, scopes: list[str] | None = None, name: str = "key") -> str:
    data = await client.data(CREATE_KEY, {"name": name, "scopes": scopes})
    assert data["createApiKey"]["__typename"] == "CreatedApiKey", data
    return data["createApiKey"]["secret"]


def session_cookies(client: Any) -> dict[str, str]:
    """The client's cookies (its session), to switch back to with ``use_cookies``."""
    return {c.key: c.value for c in client.http.session.cookie_jar}


def use_cookies(client: Any, cookies: dict[str, str]) -> None:
    """Replace the client's cookies: act as the session they hold."""
    client.http.session.cookie_jar.clear()
    client.http.session.cookie_jar.update_cookies(cookies)
