"""API overhead benchmark: GraphQL `me` against a plain aiohttp JSON handler doing the same
database work (authenticate the API key, read the account), at concurrency 64.

    .venv/bin/python bench/api.py [--requests 3000] [--concurrency 64] [--rounds 3]

The server runs in a child process (the load generator must not share its event loop) on a
fresh SQLite database in a temporary directory. Each round measures both endpoints back to
back; the figures are medians over rounds, and the ratio is the result (absolute numbers on
a 2-core machine are noisy). Results are printed and written to bench/results/api.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
ME = {"query": "{ me { id email credits } }"}


def serve(port: int, data_dir: str) -> None:
    """Child process: the real app plus the plain baseline handler."""
    from aiohttp import web

    from neurall.app import create_app
    from neurall.config import load_settings
    from neurall.orm import database
    from neurall.web.auth import authenticate

    # The per-key and per-account request limits would cap the very thing measured.
    settings = load_settings(
        data_dir=Path(data_dir),
        requests_per_minute_per_api_key=10**9,
        requests_per_minute_per_account=10**9,
    )
    asyncio.run(database.migrate(settings.database_url))
    app = create_app(settings)

    async def plain_me(request: web.Request) -> web.Response:
        viewer = await authenticate(request, settings)
        if viewer is None:
            return web.json_response({"me": None})
        account = viewer.account
        await account.refresh_from_db()
        return web.json_response(
            {"me": {"id": str(account.id), "email": account.email, "credits": account.balance}}
        )

    app.router.add_get("/plain/me", plain_me)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def _setup_key(base: str) -> str:
    # unsafe=True: keep cookies for an IP address host (aiohttp drops them by default).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { signUp(input: {email: "bench@example.com", '
                'password: "benchmark password"}) { __typename } }'
            },
        )
        response = await http.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { createApiKey(name: "bench") '
                "{ ... on CreatedApiKey { secret } } }"
            },
        )
        return (await response.json())["data"]["createApiKey"]["secret"]


async def _load(url: str, method: str, key: str, total: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    remaining = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def one_client() -> None:
            for _ in remaining:
                started = time.perf_counter()
                if method == "POST":
                    response = await http.post(url, json=ME)
                else:
                    response = await http.get(url)
                body = await response.read()
                if response.status != 200 or b'"email"' not in body:
                    raise RuntimeError(f"unexpected response {response.status}: {body[:200]!r}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": total / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def bench(base: str, total: int, concurrency: int, rounds: int) -> dict:
    key = await _setup_key(base)
    # Warm both paths (imports, caches, connection pools) before measuring.
    await _load(f"{base}/graphql", "POST", key, 200, concurrency)
    await _load(f"{base}/plain/me", "GET", key, 200, concurrency)
    results: dict[str, list[dict[str, float]]] = {"graphql_me": [], "plain_me": []}
    for _ in range(rounds):
        results["graphql_me"].append(
            await _load(f"{base}/graphql", "POST", key, total, concurrency)
        )
        results["plain_me"].append(await _load(f"{base}/plain/me", "GET", key, total, concurrency))
    summary = {
        name: {metric: statistics.median(r[metric] for r in runs) for metric in runs[0]}
        for name, runs in results.items()
    }
    summary["ratio"] = {
        "throughput_graphql_vs_plain": summary["graphql_me"]["rps"] / summary["plain_me"]["rps"]
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALL_")}
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), data_dir], cwd=ROOT, env=env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
            summary = asyncio.run(bench(base, args.requests, args.concurrency, args.rounds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'endpoint':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name in ("graphql_me", "plain_me"):
        row = summary[name]
        print(f"{name:<14}{row['rps']:>10.0f}{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}")
    ratio = summary["ratio"]["throughput_graphql_vs_plain"]
    print(f"GraphQL throughput / plain handler: {ratio:.2f} (goal >= 0.50)")
    out = ROOT / "bench" / "results" / "api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
