"""The GraphQL client of the in-process app and the documents the tests share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient
from yarl import URL

PASSWORD = "correct horse battery staple"

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

JOB_FIELDS = """
  id status source queuePosition step totalSteps progress etaSeconds heldCredits costCredits
  error createdAt startedAt finishedAt
  params { prompt negativePrompt width height steps guidanceScale seed numImages cloneId }
  images { url width height seed contentType expiresAt }
"""
GENERATE = f"""
mutation($input: GenerateInput!, $key: String) {{
  generate(input: $input, idempotencyKey: $key) {{
    __typename
    ... on Job {{ {JOB_FIELDS} }}
    ... on UserError {{ code message }}
    ... on InvalidInput {{ fields errors {{ field message }} }}
    ... on InsufficientCredits {{ required available }}
  }}
}}
"""
# ``generate`` that waits up to ``$wait`` seconds for the job to end.
GENERATE_WAIT = f"""
mutation($input: GenerateInput!, $wait: Int) {{
  generate(input: $input, wait: $wait) {{
    __typename
    ... on Job {{ {JOB_FIELDS} priority model }}
    ... on UserError {{ code message }}
    ... on InvalidInput {{ fields errors {{ field message }} }}
  }}
}}
"""
# Every job of the caller, with when it started and where it waits.
JOB_STARTS = """
{ jobs(first: 100) { edges { node {
  id status priority queuePosition createdAt startedAt finishedAt costCredits model
} } } }
"""
CANCEL = f"""
mutation($id: ID!) {{
  cancelJob(id: $id) {{
    __typename ... on Job {{ {JOB_FIELDS} }} ... on UserError {{ code message }}
  }}
}}
"""
JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
ME = "{ me { credits heldCredits } }"
EVENTS = """
subscription($jobId: ID!, $afterSeq: Int) {
  jobEvents(jobId: $jobId, afterSeq: $afterSeq) {
    seq jobId type status queuePosition step totalSteps progress etaSeconds error
    images { url width height seed contentType expiresAt }
  }
}
"""
# jobEvents with the PREVIEW events' image (settings with ``preview_every_steps``).
EVENTS_WITH_PREVIEW = """
subscription($jobId: ID!, $afterSeq: Int) {
  jobEvents(jobId: $jobId, afterSeq: $afterSeq) {
    seq type status queuePosition step totalSteps progress
    preview { url width height seed contentType expiresAt }
    images { url }
  }
}
"""

HISTORY = """
query($first: Int, $after: String) {
  history(first: $first, after: $after) {
    edges { cursor node { id createdAt job { id status source
      params { prompt seed } images { url expiresAt } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DELETE_ITEM = """
mutation($id: ID!) {
  deleteHistoryItem(id: $id) {
    __typename ... on Deleted { deletedCount } ... on UserError { code }
  }
}
"""
CLEAR = """
mutation { clearHistory { __typename ... on Deleted { deletedCount } ... on UserError { code } } }
"""


# 64x64, one step: the cheapest job, 1 credit.
CHEAP = {"prompt": "a red square", "width": 64, "height": 64, "steps": 1, "numImages": 1}


def small_input(**overrides: Any) -> dict[str, Any]:
    """A GenerateInput that the tiny model runs in a moment."""
    data: dict[str, Any] = {"prompt": "a red fox in the snow", "steps": 4, "seed": 7}
    data.update(overrides)
    return data


@dataclass
class GraphQLClient:
    """Posts GraphQL documents to a running app, keeping cookies like a browser would."""

    http: TestClient

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if api_key is not None:
            all_headers["Authorization"] = f"Bearer {api_key}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status == 200, await response.text()
        return await response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The ``data`` of a response that must have no errors."""
        body = await self.post(query, variables, **kw)
        assert "errors" not in body, body
        return body["data"]

    def port_url(self, path: str, scheme: str = "http") -> URL:
        return URL(f"{scheme}://127.0.0.1:{self.http.port}{path}")


def base(client: Any) -> str:
    """The app's base URL (for sockets and links), without the trailing slash."""
    return str(client.port_url("")).rstrip("/")


def session_cookies(client: Any) -> dict[str, str]:
    """The client's cookies (its session), to switch back to with ``use_cookies``."""
    return {c.key: c.value for c in client.http.session.cookie_jar}


def use_cookies(client: Any, cookies: dict[str, str]) -> None:
    """Replace the client's cookies: act as the session they hold."""
    client.http.session.cookie_jar.clear()
    client.http.session.cookie_jar.update_cookies(cookies)
