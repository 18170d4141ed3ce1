"""`python -m bench.webhooks [--quick] [--jobs N] [--out PATH]`

Does a slow webhook receiver slow jobs down? The 1-in-flight figure (one job at a time,
submit to SUCCEEDED, end to end) with webhooks off, then with an endpoint subscribed to
every event whose receiver takes 20 s per request (longer than the 15 s timeout, so every
attempt fails late and is retried). Embedded `neurall serve` (SQLite, in-process queue,
the tiny model), in this process; the two runs alternate in rounds so drift in the
machine's load hits both. The claim: the figure with webhooks on stays within noise of the
figure with webhooks off, because deliveries run on the webhooks queue's own threads and
are enqueued after the job's commit without waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import GENERATE, ROOT, ensure_tiny_model, free_port, summary
from neurall.app import create_app
from neurall.config import load_settings

SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { __typename } }"""
CREATE_KEY = """mutation { createApiKey(name: "bench") { ... on CreatedApiKey { secret } } }"""
CREATE_ENDPOINT = """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
  events: [JOB_STARTED, JOB_PROGRESS, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELED]}) {
  ... on CreatedWebhookEndpoint { endpoint { id } } } }"""
ENABLE = """mutation($id: ID!, $on: Boolean!) {
  updateWebhookEndpoint(id: $id, input: {enabled: $on}) { __typename } }"""
JOB = """query($id: ID!) { job(id: $id) { status } }"""
RECEIVER_DELAY_S = 20.0


async def _slow_receiver(port: int) -> web.AppRunner:
    async def handle(_request: web.Request) -> web.Response:
        await asyncio.sleep(RECEIVER_DELAY_S)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base, self.key = http, base, ""

    async def gql(self, query: str, variables: dict | None = None, *, key: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if key and self.key else {}
        async with self.http.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        ) as response:
            body = await response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]

    async def one_job(self, seed: int) -> float:
        """Submit one small job and wait for SUCCEEDED: milliseconds end to end."""
        started = time.perf_counter()
        variables = {"input": {"prompt": "a lighthouse", "steps": 4, "seed": seed}}
        job = (await self.gql(GENERATE, variables))["generate"]
        # Polled like a client would (the same cost with webhooks on and off).
        while (await self.gql(JOB, {"id": job["id"]}))["job"]["status"] != "SUCCEEDED":  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        return (time.perf_counter() - started) * 1000


async def _server(workdir: Path) -> tuple[web.AppRunner, str]:
    data = workdir / "data"
    data.mkdir()
    (data / "models").symlink_to(ensure_tiny_model(), target_is_directory=True)
    settings = load_settings(
        data_dir=data,
        webhooks_allow_insecure_urls=True,
        requests_per_minute_per_api_key=10**9,
        requests_per_minute_per_account=10**9,
        generates_per_minute_per_account=10**9,
        signup_grant_credits=10**7,
        embedded_worker_threads=1,
    )
    from neurall.orm import database

    await database.migrate(f"sqlite://{data}/neurall.sqlite3")
    runner = web.AppRunner(create_app(settings), shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def _run(jobs: int, rounds: int) -> dict[str, Any]:
    receiver_port = free_port()
    receiver = await _slow_receiver(receiver_port)
    samples: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        runner, base = await _server(Path(tmp))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            client = Client(http, base)
            account = {"email": "bench@example.com", "password": "a long bench password"}
            await client.gql(SIGN_UP, {"input": account}, key=False)
            client.key = (await client.gql(CREATE_KEY, key=False))["createApiKey"]["secret"]
            url = f"http://127.0.0.1:{receiver_port}/hook"
            created = await client.gql(CREATE_ENDPOINT, {"url": url}, key=False)
            endpoint_id = created["createWebhookEndpoint"]["endpoint"]["id"]
            await client.one_job(0)  # loads the model
            seed = 1
            for _ in range(rounds):
                for side in ("off", "on"):
                    await client.gql(ENABLE, {"id": endpoint_id, "on": side == "on"}, key=False)
                    for _ in range(jobs):
                        samples[side].append(await client.one_job(seed))
                        seed += 1
        await runner.cleanup()
    await receiver.cleanup()
    off, on = summary(samples["off"]), summary(samples["on"])
    return {
        "params": {"jobs_per_round": jobs, "rounds": rounds, "receiver_delay_s": RECEIVER_DELAY_S},
        "webhooks_off_ms": off,
        "webhooks_on_ms": on,
        "median_ratio": on["median"] / off["median"],
    }


def run(quick: bool = False, jobs: int = 20, rounds: int = 3) -> dict[str, Any]:
    return asyncio.run(_run(2 if quick else jobs, 1 if quick else rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int, default=20, help="jobs per side per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "webhooks.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = run(args.quick, args.jobs, args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    off, on = result["webhooks_off_ms"], result["webhooks_on_ms"]
    print("| 1 in flight, end to end | median ms | p99 ms |")
    print("|---|---|---|")
    print(f"| webhooks off | {off['median']:.1f} | {off['p99']:.1f} |")
    print(f"| webhooks on, 20 s receiver | {on['median']:.1f} | {on['p99']:.1f} |")
    print(f"median ratio on/off: {result['median_ratio']:.3f}")


if __name__ == "__main__":
    main()
