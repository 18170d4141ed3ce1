"""`neurall serve` on its embedded defaults, as a real process and an ordinary HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests

from tests.support.graphql import PASSWORD
from tests.support.poll import until_sync
from tests.support.ports import free_port
from tests.support.processes import clean_env, running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("serve")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        ["serve", "--port", str(port)],
        env=clean_env(),
        log=workdir / "serve.log",
        ready_url=f"{base}/readyz",
        cwd=workdir,  # the embedded defaults put ./neurall-data here
    ) as process:
        yield base
    assert process.returncode is not None
    assert (workdir / "neurall-data" / "neurall.sqlite3").exists()


def _gql(session: requests.Session, base: str, query: str, **kw) -> dict:
    response = session.post(f"{base}/graphql", json={"query": query}, timeout=10, **kw)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_health_endpoints(server):
    assert requests.get(f"{server}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{server}/readyz", timeout=5).json() == {"status": "ready"}


def test_sign_up_log_in_create_key_and_use_it(server):
    browser = requests.Session()
    signed_up = _gql(
        browser,
        server,
        f'mutation {{ signUp(input: {{email: "serve@example.com", password: "{PASSWORD}"}}) '
        "{ __typename } }",
    )
    assert signed_up["signUp"]["__typename"] == "Session"
    logged_in = _gql(
        browser,
        server,
        f'mutation {{ logIn(email: "serve@example.com", password: "{PASSWORD}") '
        "{ __typename } }",
    )
    assert logged_in["logIn"]["__typename"] == "Session"
    created = _gql(
        browser,
        server,
        'mutation { createApiKey(name: "cli") { ... on CreatedApiKey { secret } } }',
    )
    secret = created["createApiKey"]["secret"]
    me = _gql(
        requests.Session(),
        server,
        "{ me { email } }",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert me["me"]["email"] == "serve@example.com"


def test_graphiql_is_served_in_development(server):
    page = requests.get(f"{server}/graphql", headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200
    # The playground when it is built (it opens its bundled GraphiQL there), else
    # Strawberry's own page.
    assert "graphiql" in page.text.lower() or '<div id="root">' in page.text


async def test_generate_end_to_end_on_the_embedded_defaults(server):
    """`neurall serve` alone: in-process queue and inference on the built-in tiny model."""
    from tests.support.events import check_progress, png_size, ws_stream
    from tests.support.graphql import GENERATE

    browser = requests.Session()
    _gql(
        browser,
        server,
        f'mutation {{ signUp(input: {{email: "gen@example.com", password: "{PASSWORD}"}}) '
        "{ __typename } }",
    )
    secret = _gql(
        browser,
        server,
        'mutation { createApiKey(name: "gen") { ... on CreatedApiKey { secret } } }',
    )["createApiKey"]["secret"]
    auth = {"Authorization": f"Bearer {secret}"}

    async def run_once(http: aiohttp.ClientSession) -> bytes:
        variables = {
            "input": {"prompt": "a lighthouse", "width": 64, "height": 96, "steps": 3, "seed": 11}
        }
        async with http.post(
            f"{server}/graphql", json={"query": GENERATE, "variables": variables}, headers=auth
        ) as response:
            job = (await response.json())["data"]["generate"]
        assert job["__typename"] == "Job", job
        stream = await ws_stream(server, api_key=secret).open(job["id"])
        try:
            events = await stream.until_end()
        finally:
            await stream.close()
        check_progress(events, 3)
        (image,) = events[-1]["images"]
        # No NEURALL_PUBLIC_URL: links follow --host and --port.
        assert image["url"].startswith(f"{server}/images/"), image["url"]
        async with http.get(image["url"], headers=auth) as png:
            assert png.status == 200
            assert png.headers["Content-Type"] == "image/png"
            body = await png.read()
        assert png_size(body) == (64, 96)
        return body

    async with aiohttp.ClientSession() as http:
        assert await run_once(http) == await run_once(http)  # same seed, same bytes


def test_the_page_own_origin_is_trusted_on_a_non_default_port(server):
    """Without NEURALL_PUBLIC_URL the origin the server listens on is the trusted one (CORS
    with credentials), not port 8000's."""
    preflight = {"Origin": server, "Access-Control-Request-Method": "POST"}
    allowed = requests.options(f"{server}/graphql", headers=preflight, timeout=5)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == server
    other = {**preflight, "Origin": "http://127.0.0.1:8000"}
    assert requests.options(f"{server}/graphql", headers=other, timeout=5).status_code == 403


def test_a_job_committed_before_a_crash_runs_after_the_restart(tmp_path: Path, tiny_models: Path):
    """The embedded queue lives in memory: `neurall serve` killed after a playground job
    is committed and before it is queued (a fault-injection point) loses the message, and
    the restarted server sends it again. (An API job's request died with the process; it
    fails, refunded: see docs/operations.md.)"""
    from neurall.crash_points import EXIT_CODE
    from tests.support.graphql import GENERATE

    data = tmp_path / "neurall-data"
    data.mkdir()
    (data / "models").symlink_to(tiny_models, target_is_directory=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    browser = requests.Session()
    variables = {"input": {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 2}}
    with running(
        ["serve", "--port", str(port)],
        env=clean_env(NEURALL_TEST_CRASH_AT="job_committed"),
        log=tmp_path / "serve-1.log",
        ready_url=f"{base}/readyz",
        cwd=tmp_path,
    ) as doomed:
        _gql(
            browser,
            base,
            f'mutation {{ signUp(input: {{email: "ada@example.com", password: "{PASSWORD}"}}) '
            "{ __typename } }",
        )
        with pytest.raises(requests.ConnectionError):
            browser.post(
                f"{base}/graphql", json={"query": GENERATE, "variables": variables}, timeout=30
            )
        assert doomed.wait(timeout=30) == EXIT_CODE
    log = tmp_path / "serve-2.log"
    with running(
        ["serve", "--port", str(port)], env=clean_env(), log=log, ready_url=f"{base}/readyz",
        cwd=tmp_path,
    ):  # fmt: skip
        query = "{ jobs(first: 5) { edges { node { id status heldCredits costCredits } } } }"

        def ended() -> dict | None:
            [job] = [e["node"] for e in _gql(browser, base, query)["jobs"]["edges"]]
            return job if job["status"] not in ("QUEUED", "RUNNING") else None

        job = until_sync(ended, within=60, what="the job to end after the restart")
        me = _gql(browser, base, "{ me { credits heldCredits } }")["me"]
    assert job["status"] == "SUCCEEDED", log.read_text()[-3000:]
    assert job["costCredits"] == job["heldCredits"]
    assert me["heldCredits"] == 0
