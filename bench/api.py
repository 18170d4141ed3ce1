"""API overhead: GraphQL `me` and `job(id)` against plain aiohttp JSON handlers doing the same
database work (authenticate the API key, read the account / the job and its images, and
queue the usage-log row every API-key operation gets in the app's buffer, which writes them
in batches), at concurrency 64. The plain
handlers are also measured without the usage row ("read-only"), for the cost of that row.

The server runs in a child process (the load generator must not share its event loop) on a
fresh SQLite database in a temporary directory, with the real app plus the plain handlers.
Each round measures the GraphQL endpoint and its plain twin back to back; figures are medians
over rounds, and the ratio is the result (absolute numbers on a 2-core machine are noisy).
Each case also records the server process's CPU time per request (all its threads, from
/proc), which other load on the machine disturbs far less than throughput.

    .venv/bin/python -m bench api [--quick]
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    MODELS,
    ROOT,
    UNLIMITED,
    ensure_tiny_model,
    free_port,
    server_popen_options,
)

ME = "{ me { id email credits } }"
JOB = "query($id: ID!) { job(id: $id) { id status step totalSteps progress images { url } } }"


def serve(port: int, data_dir: str) -> None:
    """Child process: the real app plus the plain baseline handlers."""
    from aiohttp import web

    from neurall.app import SERVICES, create_app
    from neurall.config import load_settings
    from neurall.orm import database
    from neurall.orm.jobs import Job, JobImage
    from neurall.privacy.usage import usage_row
    from neurall.web.auth import authenticate

    settings = load_settings(data_dir=Path(data_dir))
    asyncio.run(database.migrate(settings.database_url))
    app = create_app(settings)
    usage_log = app[SERVICES].usage_log

    async def usage(request: web.Request, viewer: Any, operation: str, began: float) -> None:
        if request.query.get("usage") == "0" or viewer is None or viewer.api_key is None:
            return
        # The same path as the GraphQL extension's: the app's batching buffer.
        row = usage_row(
            account_id=viewer.account.id,
            api_key_id=viewer.api_key.id,
            operation=operation,
            duration_ms=int((time.perf_counter() - began) * 1000),
            ok=True,
            ip=request.remote or "",
            user_agent=request.headers.get("User-Agent", ""),
        )
        await usage_log.add(row)

    async def plain_me(request: web.Request) -> web.Response:
        began = time.perf_counter()
        viewer = await authenticate(request, settings)
        if viewer is None:
            return web.json_response({"me": None})
        account = viewer.account
        await account.refresh_from_db()
        body = {"me": {"id": str(account.id), "email": account.email, "credits": account.balance}}
        await usage(request, viewer, "me", began)
        return web.json_response(body)

    async def plain_job(request: web.Request) -> web.Response:
        began = time.perf_counter()
        viewer = await authenticate(request, settings)
        job = None
        if viewer is not None:
            job = await Job.get_or_none(id=request.match_info["id"], account_id=viewer.account.id)
        if job is None:
            return web.json_response({"job": None})
        images = await JobImage.filter(job_id=job.id).order_by("index")
        base = f"{settings.public_url}/images"
        body = {"job": {"id": str(job.id), "status": job.status.value, "step": job.step,
                        "totalSteps": job.total_steps, "progress": job.step / job.total_steps,
                        "images": [{"url": f"{base}/{i.id}"} for i in images]}}  # fmt: skip
        await usage(request, viewer, "job", began)
        return web.json_response(body)

    app.router.add_get("/plain/me", plain_me)
    app.router.add_get("/plain/job/{id}", plain_job)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def _gql(http: aiohttp.ClientSession, url: str, query: str, variables: dict) -> dict:
    async with http.post(url, json={"query": query, "variables": variables}) as response:
        return (await response.json())["data"]


async def _setup(base: str) -> tuple[str, str]:
    """An account, an API key and one finished job of its."""
    # unsafe=True: keep cookies for an IP address host (aiohttp drops them by default).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await _gql(
            http,
            f"{base}/graphql",
            "mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }",
            {"i": {"email": "bench@example.com", "password": "benchmark password"}},
        )
        created = await _gql(
            http,
            f"{base}/graphql",
            'mutation { createApiKey(name: "bench") { ... on CreatedApiKey { secret } } }',
            {},
        )
        key = created["createApiKey"]["secret"]
        job = await _gql(
            http,
            f"{base}/graphql",
            "mutation($i: GenerateInput!) { generate(input: $i) { ... on Job { id } } }",
            {"i": {"prompt": "a benchmark", "steps": 1, "seed": 1}},
        )
        job_id = job["generate"]["id"]
        for _ in range(600):
            if (await _gql(http, f"{base}/graphql", JOB, {"id": job_id}))["job"][
                "status"
            ] == "SUCCEEDED":
                break
            await asyncio.sleep(0.1)
        return key, job_id


async def _load(
    url: str, key: str, payload: dict | None, expect: bytes, total: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    remaining = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def one_client() -> None:
            for _ in remaining:
                started = time.perf_counter()
                if payload is not None:
                    response = await http.post(url, json=payload)
                else:
                    response = await http.get(url)
                body = await response.read()
                if response.status != 200 or expect not in body:
                    raise RuntimeError(f"unexpected response {response.status}: {body[:200]!r}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": total / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench(
    base: str, total: int, concurrency: int, rounds: int, server_pid: int
) -> dict[str, Any]:
    key, job_id = await _setup(base)
    cases = {
        "graphql_me": (f"{base}/graphql", {"query": ME}, b'"email"'),
        "plain_me": (f"{base}/plain/me", None, b'"email"'),
        "graphql_job": (
            f"{base}/graphql",
            {"query": JOB, "variables": {"id": job_id}},
            b'"SUCCEEDED"',
        ),
        "plain_job": (f"{base}/plain/job/{job_id}", None, b'"SUCCEEDED"'),
        "plain_me_readonly": (f"{base}/plain/me?usage=0", None, b'"email"'),
        "plain_job_readonly": (f"{base}/plain/job/{job_id}?usage=0", None, b'"SUCCEEDED"'),
    }
    # Warm every path (imports, caches, connection pools) before measuring.
    for url, payload, expect in cases.values():
        await _load(url, key, payload, expect, min(200, total), concurrency)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (url, payload, expect) in cases.items():
            began = _cpu_s(server_pid)
            result = await _load(url, key, payload, expect, total, concurrency)
            result["server_cpu_ms"] = (_cpu_s(server_pid) - began) * 1000 / total
            runs[name].append(result)
    summary: dict[str, Any] = {
        name: {metric: statistics.median(r[metric] for r in rs) for metric in rs[0]}
        for name, rs in runs.items()
    }
    summary["ratio"] = {
        "me": summary["graphql_me"]["rps"] / summary["plain_me"]["rps"],
        "job": summary["graphql_job"]["rps"] / summary["plain_job"]["rps"],
        "me_vs_readonly": summary["graphql_me"]["rps"] / summary["plain_me_readonly"]["rps"],
        "job_vs_readonly": summary["graphql_job"]["rps"] / summary["plain_job_readonly"]["rps"],
        # Server CPU per request of the read-only handler over GraphQL's (1: equally cheap).
        "me_cpu_vs_readonly": summary["plain_me_readonly"]["server_cpu_ms"]
        / summary["graphql_me"]["server_cpu_ms"],
        "job_cpu_vs_readonly": summary["plain_job_readonly"]["server_cpu_ms"]
        / summary["graphql_job"]["server_cpu_ms"],
    }
    summary["params"] = {"requests": total, "concurrency": concurrency, "rounds": rounds}
    summary["goal"] = (
        "GraphQL >= 50% of the plain handler's throughput, >= 75% of the read-only handler's"
    )
    return summary


def run(quick: bool = False, requests: int = 2000, rounds: int = 3) -> dict[str, Any]:
    if quick:
        requests, rounds = 100, 1
    concurrency = 64
    port = free_port()
    ensure_tiny_model()
    with tempfile.TemporaryDirectory() as data_dir:
        (Path(data_dir) / "models").symlink_to(MODELS, target_is_directory=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")}
        env.update(UNLIMITED)
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.api", "--serve", str(port), data_dir],
            cwd=ROOT,
            env=env,
            **server_popen_options(),
        )
        try:
            for _ in range(600):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
            base = f"http://127.0.0.1:{port}"
            return asyncio.run(bench(base, requests, concurrency, rounds, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        raise SystemExit("run `python -m bench api`")
