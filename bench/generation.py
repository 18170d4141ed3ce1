"""Benchmark: N jobs end to end through the distributed path vs the pipeline in-process.

Starts `neurall gpu`, `neurall serve` and `neurall worker` as separate processes against the
local PostgreSQL and RabbitMQ (a throwaway database), submits N identical-shape jobs with
different seeds over GraphQL with an API key, and waits for each to succeed. Then runs the
same N requests through the same tiny pipeline in this process (EmbeddedBackend, which
batches concurrent compatible requests just as Triton does). Prints latency and throughput
and their ratios. Not a test: numbers depend on the machine.

    .venv/bin/python bench/generation.py --jobs 8 --steps 20 --size 64
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import aiohttp
import asyncpg

PG_ADMIN = os.environ.get(
    "NEURALL_TEST_POSTGRES_URL", "postgres://neurall:neurall@127.0.0.1:5432/postgres"
)
BROKER = os.environ.get("NEURALL_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
NEURALL = [sys.executable, "-m", "neurall.cli"]
GENERATE = """mutation($input: GenerateInput!) { generate(input: $input) {
  __typename ... on Job { id } ... on UserError { message } } }"""
JOB = "query($id: ID!) { job(id: $id) { status } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http://
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"{url} did not come up")


async def distributed(api: str, jobs: int, steps: int, size: int) -> tuple[list[float], float]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=api, cookie_jar=jar) as http:

        async def gql(query: str, variables: dict, key: str | None = None) -> dict:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            async with http.post("/graphql", json={"query": query, "variables": variables},
                                 headers=headers) as response:  # fmt: skip
                return (await response.json())["data"]

        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        await gql(
            "mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }",
            {"i": {"email": email, "password": "benchmark password 123"}},
        )
        created = await gql(
            'mutation { createApiKey(name: "bench") { ... on CreatedApiKey { secret } } }', {}
        )
        key = created["createApiKey"]["secret"]
        http.cookie_jar.clear()

        async def one(seed: int) -> float:
            began = time.monotonic()
            data = {"prompt": "a lighthouse at dusk", "steps": steps, "width": size,
                    "height": size, "seed": seed}  # fmt: skip
            job = (await gql(GENERATE, {"input": data}, key))["generate"]
            assert job["__typename"] == "Job", job
            # Polling a remote status: there is nothing local to wait on.
            while (await gql(JOB, {"id": job["id"]}, key))["job"]["status"] != "SUCCEEDED":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            return time.monotonic() - began

        await one(0)  # warm-up: connections, first batch
        began = time.monotonic()
        latencies = await asyncio.gather(*(one(seed) for seed in range(1, jobs + 1)))
        return list(latencies), time.monotonic() - began


async def in_process(models: Path, jobs: int, steps: int, size: int) -> tuple[list[float], float]:
    from neurall.gpu.embedded import EmbeddedBackend
    from neurall.gpu.types import GenerationRequest, GenerationResult

    backend = EmbeddedBackend("tiny", models, device="cpu")
    await backend.start()

    async def one(seed: int) -> float:
        began = time.monotonic()
        request = GenerationRequest(prompt="a lighthouse at dusk", negative_prompt=None,
                                    width=size, height=size, steps=steps, guidance_scale=7.5,
                                    seed=seed, num_images=1)  # fmt: skip
        async for item in backend.generate(request):
            if isinstance(item, GenerationResult):
                break
        return time.monotonic() - began

    try:
        await one(0)
        began = time.monotonic()
        latencies = await asyncio.gather(*(one(seed) for seed in range(1, jobs + 1)))
        return list(latencies), time.monotonic() - began
    finally:
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--worker-threads", type=int, default=8)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="neurall-bench-"))
    data_dir = workdir / "data"
    db = f"neurall_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{db}"'))
    grpc, http, metrics, api_port = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "NEURALL_DATA_DIR": str(data_dir), "NEURALL_DATABASE_URL": f"{base}/{db}",
           "NEURALL_BROKER_URL": BROKER, "NEURALL_INFERENCE_URL": f"grpc://127.0.0.1:{grpc}",
           "NEURALL_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
           "NEURALL_SIGNUP_GRANT_CREDITS": "100000"}  # fmt: skip
    processes: list[subprocess.Popen] = []
    logs = (workdir / "processes.log").open("wb")
    try:
        subprocess.run([*NEURALL, "migrate"], env=env, check=True, capture_output=True)
        for command in (
            ["gpu", "--host", "127.0.0.1", "--grpc-port", str(grpc), "--http-port", str(http),
             "--metrics-port", str(metrics), "--device", "cpu"],
            ["serve", "--port", str(api_port)],
            ["worker", "--threads", str(args.worker_threads)],
        ):  # fmt: skip
            processes.append(subprocess.Popen([*NEURALL, *command], env=env, stdout=logs,
                                              stderr=subprocess.STDOUT))  # fmt: skip
        wait_http(f"http://127.0.0.1:{http}/v2/models/neurall_txt2img/ready")
        wait_http(f"http://127.0.0.1:{api_port}/healthz")
        dist_lat, dist_wall = asyncio.run(
            distributed(f"http://127.0.0.1:{api_port}", args.jobs, args.steps, args.size)
        )
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    local_lat, local_wall = asyncio.run(
        in_process(data_dir / "models", args.jobs, args.steps, args.size)
    )

    def row(name: str, lat: list[float], wall: float) -> str:
        return (f"| {name:<12} | {statistics.median(lat):8.3f} | {max(lat):8.3f} | "
                f"{len(lat) / wall:10.2f} |")  # fmt: skip

    out = sys.stdout
    out.write(f"{args.jobs} jobs, {args.size}x{args.size}, {args.steps} steps\n")
    out.write("| path         | p50 s    | max s    | jobs/s     |\n")
    out.write("|--------------|----------|----------|------------|\n")
    out.write(row("distributed", dist_lat, dist_wall) + "\n")
    out.write(row("in-process", local_lat, local_wall) + "\n")
    out.write(
        f"latency ratio (distributed/in-process, p50): "
        f"{statistics.median(dist_lat) / statistics.median(local_lat):.2f}\n"
        f"throughput ratio (distributed/in-process): "
        f"{(len(dist_lat) / dist_wall) / (len(local_lat) / local_wall):.2f}\n"
    )


if __name__ == "__main__":
    main()
