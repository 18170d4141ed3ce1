"""`python -m bench [all|overhead|queue|fanout|batching|api|gpu|models|fairness ...]
[--quick] [--out PATH] [--server-cpus LIST --client-cpus LIST] [--api-processes N]`, and
`python -m bench gpu-check [--dry-run]` (bench/gpu_check.py: every GPU figure in one run)

Runs the benchmarks, prints each figure beside the baseline measured in the same
run, and writes everything to a JSON file (default bench/results/results.json). Medians and
p99 over repeated runs; on a shared 2-core machine absolute numbers are noisy, so the ratios
are the result. ``--quick`` runs every code path with a few repetitions (the smoke test).
``--server-cpus``/``--client-cpus`` pin the server processes the benches start and the
benchmark process itself (the load generator) to separate CPUs, as `taskset -c` would
(lists like "0", "0,2" or "2-15"), so that the client does not take the server's cores.
``api`` also compares `neurall serve --workers N` (``--api-processes``, default 2) with one
process (bench/api_processes.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import api, api_processes, batching, events, fairness, gpu, models, overhead
from bench.common import ROOT, Stack, parse_cpus, pin

# Benches that run against the distributed stack share one (started once, in this order:
# the queue bench and the fan-out stop its worker).
ON_STACK: dict[str, Callable[[bool, Stack], dict[str, Any]]] = {
    "overhead": overhead.run,
    "queue": events.run_queue,
    "fanout": events.run_fanout,
}
ALONE: dict[str, Callable[[bool], dict[str, Any]]] = {
    "batching": batching.run,
    "api": api.run,
    "gpu": gpu.run,
    "models": models.run,
    "fairness": fairness.run,
}
BENCHES = ["overhead", "queue", "fanout", "batching", "api", "gpu", "models", "fairness"]


def _row(name: str, value: str, baseline: str, ratio: str, goal: str) -> str:
    return f"| {name} | {value} | {baseline} | {ratio} | {goal} |"


def table(results: dict[str, Any]) -> list[str]:
    """The result table of docs/performance.md: figure, baseline, ratio, goal (met or not)."""
    rows = [
        "| figure | measured | baseline | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    if "overhead" in results:
        rows.extend(_overhead_rows("", results["overhead"]))
    if "batching" in results:
        rows.append(_batching_row("", results["batching"]))
    if "gpu" in results:
        g = results["gpu"]
        prefix = f"{g['params']['device']}, {g['params']['size']}px: "
        for name in ("embedded", "triton"):
            if "error" in g[name]:
                rows.append(_row(f"{prefix}{name}", "failed", "-", "-", g[name]["error"]))
            else:
                rows.extend(_overhead_rows(f"{prefix}{name}, ", g[name]))
        if "batching" in g and "error" not in g["batching"]:
            rows.append(_batching_row(prefix, g["batching"]))
    if "api" in results:
        a = results["api"]
        for name in ("me", "job"):
            g, p = a[f"graphql_{name}"], a[f"plain_{name}"]
            ro = a[f"plain_{name}_readonly"]
            ratio, readonly = a["ratio"][name], a["ratio"][name + "_vs_readonly"]
            rows.append(_row(
                f"GraphQL `{name}` req/s (p50 / p99 ms), concurrency 64",
                f"{g['rps']:.0f} ({g['p50_ms']:.0f} / {g['p99_ms']:.0f})",
                f"plain {p['rps']:.0f} ({p['p50_ms']:.0f} / {p['p99_ms']:.0f}); "
                f"read-only plain {ro['rps']:.0f}",
                f"{ratio:.2f} (vs read-only {readonly:.2f}; server CPU per request: "
                f"{g['server_cpu_ms']:.2f} ms vs read-only {ro['server_cpu_ms']:.2f} ms)",
                f">= 0.50: {'met' if ratio >= 0.5 else 'NOT met'}; "
                f"vs read-only >= 0.75: {'met' if readonly >= 0.75 else 'NOT met'}",
            ))  # fmt: skip
    if "api_processes" in results:
        a = results["api_processes"]
        one, many, n = a["one"], a["many"], a["processes"]
        rows.append(_row(
            f"GraphQL `me` req/s (p50 / p99 ms), `serve --workers {n}` vs 1, concurrency 64",
            f"{many['rps']:.0f} ({many['p50_ms']:.0f} / {many['p99_ms']:.0f})",
            f"1 process {one['rps']:.0f} ({one['p50_ms']:.0f} / {one['p99_ms']:.0f})",
            f"{a['ratio']:.2f}x (CPU per request, {n} vs 1: API {many['server_cpu_ms']:.2f} vs "
            f"{one['server_cpu_ms']:.2f} ms, client {many['client_cpu_ms']:.2f} vs "
            f"{one['client_cpu_ms']:.2f} ms, PostgreSQL {many['postgres_cpu_ms']:.2f} vs "
            f"{one['postgres_cpu_ms']:.2f} ms)",
            f">= 1.6x with 2 on enough cores: {'met' if a['ratio'] >= 1.6 else 'NOT met'}",
        ))  # fmt: skip
    if "queue" in results:
        q = results["queue"]
        for label, key in (("enqueue-to-start", "enqueue_to_start_ms"),
                           ("event publish-to-receive", "publish_to_receive_ms")):  # fmt: skip
            r = q[key]
            rows.append(_row(
                f"{label} (p50 / p99 ms)", f"{r['median']:.1f} / {r['p99']:.1f}", "-", "-",
                f"p99 < 20 ms: {'met' if r['p99'] < 20 else 'NOT met'}",
            ))  # fmt: skip
    if "fanout" in results:
        f = results["fanout"]
        d = f["delivery_ms"]
        rows.append(_row(
            f"fan-out, {f['subscriptions']} subscriptions: KB each",
            f"{f['kb_per_subscription']:.1f}",
            f"RSS {f['rss_before_mb']:.0f} -> {f['rss_after_mb']:.0f} MB", "-",
            f"< 100 KB: {'met' if f['kb_per_subscription'] < 100 else 'NOT met'}",
        ))  # fmt: skip
        b = f["bare_broadcast_delivery_ms"]
        rows.append(_row(
            "fan-out delivery latency (p50 / p99 ms)", f"{d['median']:.1f} / {d['p99']:.1f}",
            f"bare broadcast {b['median']:.1f} / {b['p99']:.1f}",
            f"p99 {d['p99'] / b['p99']:.2f}x the bare one",
            f"p99 < 50 ms: {'met' if d['p99'] < 50 else 'NOT met'}",
        ))  # fmt: skip
    if "models" in results:
        m = results["models"]
        spread, cold = m["spread"], m["cold"]
        rows.append(_row(
            f"{len(m['params']['models'])} loaded models, {m['params']['jobs']} jobs spread "
            "across them (images/s)",
            f"{spread['spread_images_per_s']['median']:.1f}",
            f"model after model {spread['model_after_model_images_per_s']['median']:.1f}",
            f"{spread['ratio']:.2f}", f">= 0.8: {'met' if spread['ratio'] >= 0.8 else 'NOT met'}",
        ))  # fmt: skip
        rows.append(_row(
            f"first job on a {cold['state_before']} model ({cold['model']}), s",
            f"{cold['cold_first_job_s']:.2f}", f"READY {cold['ready_job_s']:.2f}",
            f"load {cold['load_cost_s']:.2f} s", "reported",
        ))  # fmt: skip
    if "fairness" in results:
        f = results["fairness"]
        fair, fifo, ratio = f["fair"], f["fifo"], f["throughput_ratio"]
        wait_met = "met" if fair["newcomer_wait_runs"] <= 1.5 else "NOT met"
        rows.append(_row(
            f"newcomer's queue wait behind {f['params']['accounts']} full backlogs "
            "(job run times)",
            f"fair {fair['newcomer_wait_runs']:.2f}", f"FIFO {fifo['newcomer_wait_runs']:.1f}",
            "-", f"<= 1.5: {wait_met}",
        ))  # fmt: skip
        rows.append(_row(
            f"throughput, {f['params']['slots']} busy slots (jobs/s)",
            f"fair {fair['jobs_per_s']:.2f}", f"FIFO {fifo['jobs_per_s']:.2f}",
            f"{ratio:.3f}", f">= 0.97: {'met' if ratio >= 0.97 else 'NOT met'}",
        ))  # fmt: skip
    return rows


def _overhead_rows(prefix: str, o: dict[str, Any]) -> list[str]:
    rows = []
    for label, key in (("1 in flight", "single"), ("saturation", "saturation")):
        r = o[key]
        met = "met" if r["overhead_ratio"] < 0.05 else "NOT met"
        rows.append(_row(
            f"{prefix}end-to-end job, {label} (p50 / p99 ms)",
            f"{r['end_to_end_ms']['median']:.0f} / {r['end_to_end_ms']['p99']:.0f}",
            f"in-process {r['in_process_ms']['median']:.0f} / {r['in_process_ms']['p99']:.0f}",
            f"overhead {r['overhead_ms']:.0f} ms = {100 * r['overhead_ratio']:.1f}%",
            f"< 5%: {met}",
        ))  # fmt: skip
    s = o["saturation"]
    rows.append(_row(
        f"{prefix}throughput at saturation (jobs/s; pipeline: busy, ms per call, batch sizes)",
        f"{s['jobs_per_s']:.2f} ({_pipeline(s['pipeline'])})",
        f"in-process {s['in_process_jobs_per_s']:.2f} ({_pipeline(s['in_process_pipeline'])})",
        f"{s['jobs_per_s'] / s['in_process_jobs_per_s']:.2f}", "-",
    ))  # fmt: skip
    return rows


def _pipeline(use: dict[str, Any]) -> str:
    sizes = " ".join(str(size) for size in use["batch_sizes"]) or "none recorded"
    return f"busy {100 * use['busy_fraction']:.0f}%, {use['call_ms']:.0f} ms per call, {sizes}"


def _batching_row(prefix: str, b: dict[str, Any]) -> str:
    return _row(
        f"{prefix}Triton images/s, 16 concurrent, dynamic batching",
        f"{b['batched_images_per_s']['median']:.1f}",
        f"max batch 1: {b['unbatched_images_per_s']['median']:.1f}",
        f"{b['speedup']:.2f}x", f">= 2x: {'met' if b['speedup'] >= 2 else 'NOT met'}",
    )  # fmt: skip


def run(which: list[str], *, quick: bool, processes: int = 2) -> dict[str, Any]:
    """Run the named benches (in BENCHES order) and return their results."""
    names = [name for name in BENCHES if name in which]
    results: dict[str, Any] = {}
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    stack: Stack | None = None
    try:
        for name in names:
            began = time.monotonic()
            sys.stdout.write(f"running {name}...\n")
            sys.stdout.flush()
            if name in ON_STACK:
                if stack is None:
                    stack = Stack(worker_threads=16, max_batch_size=8)
                    stack.up(worker=name != "fanout")
                results[name] = ON_STACK[name](quick, stack)
            else:
                results[name] = ALONE[name](quick)
            results[name]["wall_s"] = round(time.monotonic() - began, 1)
            if name == "api" and processes > 1:
                began = time.monotonic()
                results["api_processes"] = api_processes.run(quick, processes)
                results["api_processes"]["wall_s"] = round(time.monotonic() - began, 1)
            if stack is not None and not set(names[names.index(name) + 1 :]) & set(ON_STACK):
                stack.down()  # before the benches that start their own servers
                stack = None
    finally:
        if stack is not None:
            stack.down()
    return results


def _all() -> list[str]:
    """Every bench; ``gpu`` only where there is one (without, it repeats ``overhead``)."""
    import torch

    return BENCHES if torch.cuda.is_available() else [b for b in BENCHES if b != "gpu"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gpu-check"]:
        # Its own command line (bench/gpu_check.py): one prepared run of every GPU figure.
        from bench import gpu_check

        return gpu_check.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", default=["all"], choices=["all", *BENCHES])
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "results.json")
    parser.add_argument(
        "--server-cpus",
        type=parse_cpus,
        metavar="LIST",
        help='CPUs for the server processes the benches start, e.g. "0" or "0-7"',
    )
    parser.add_argument(
        "--client-cpus",
        type=parse_cpus,
        metavar="LIST",
        help='CPUs for this process, the load generator, e.g. "1" or "8-15"',
    )
    parser.add_argument(
        "--api-processes",
        type=int,
        default=2,
        metavar="N",
        help="`api` also compares `neurall serve --workers N` with 1 (default 2; 1: skip)",
    )
    args = parser.parse_args(argv)
    if args.server_cpus and args.client_cpus and args.server_cpus & args.client_cpus:
        parser.error("--server-cpus and --client-cpus overlap")
    logging.basicConfig(level=logging.WARNING)
    pin(args.server_cpus, args.client_cpus)
    which = _all() if "all" in args.which else args.which
    results = run(which, quick=args.quick, processes=args.api_processes)
    results["meta"] = {
        "quick": args.quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "note": "absolute numbers are noisy on a shared machine; compare the ratios",
        # Unpinned sides share every CPU (PostgreSQL and RabbitMQ are never pinned).
        "server_cpus": sorted(args.server_cpus) if args.server_cpus else None,
        "client_cpus": sorted(args.client_cpus) if args.client_cpus else None,
    }
    sys.stdout.write("\n".join(table(results)) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    sys.stdout.write(f"results written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
