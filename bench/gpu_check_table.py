"""The markdown table of `python -m bench gpu-check` (bench/gpu_check.py), from its JSON."""

from __future__ import annotations

from typing import Any

WAYS = (
    ("diffusers", "diffusers' defaults, eager"),
    ("neurall_eager", "Neurall's pipeline, eager"),
    ("neurall_optimized", "Neurall's pipeline, optimized"),
)


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def table(results: dict[str, Any]) -> list[str]:
    meta = results.get("meta", {})
    where = meta.get("gpu") or meta.get("device", "?")
    rows = [
        f"gpu-check on {where} (torch {meta.get('torch')}, numpy {meta.get('numpy')}"
        f"{', dry run' if meta.get('dry_run') else ''}; compile: {meta.get('compile')}"
        f"{', CUDA graphs' if meta.get('cuda_graphs') else ''})",
        "",
        _row("figure", "measured", "baseline", "ratio", "goal"),
        _row("---", "---", "---", "---", "---"),
    ]
    rows += _pipeline_rows(results.get("pipeline", {}))
    for name in ("triton", "embedded"):
        if name in results:
            rows += _stack_rows(name, results[name])
    rows += [f"- {note}" for note in meta.get("notes", [])]
    return rows


def _pipeline_rows(models: dict[str, Any]) -> list[str]:
    rows = []
    for name, m in models.items():
        if not isinstance(m, dict) or name == "wall_s":
            continue
        if "skipped" in m:
            rows.append(_row(f"{name}: pipeline", "skipped", "-", "-", m["skipped"]))
            continue
        if "error" in m:
            rows.append(_row(f"{name}: pipeline", "failed", "-", "-", m["error"][:200]))
            continue
        per_s = m["images_per_s"]
        for batch, base in per_s["diffusers"].items():
            label = (
                f"{name} {m['size']}², {m['steps']} steps, {m['dtype']}, batch {batch}: images/s"
            )
            for way, title in WAYS[1:]:
                ratio = m["ratio_to_diffusers"][way][batch]
                goal = "-"
                if way == "neurall_optimized" and batch == "1" and "flux" not in name:
                    goal = f">= 1.5x: {_met(ratio >= 1.5)}"
                rows.append(_row(
                    f"{label}, {title}", f"{per_s[way][batch]:.3f}",
                    f"diffusers {base:.3f}", f"{ratio:.2f}x", goal,
                ))  # fmt: skip
        rows.append(_row(
            f"{name}: warm-up of the optimized pipeline (compile), s", f"{m['warmup_s']:.1f}",
            "-", f"{m['compiled_calls']} compiled / {m['eager_calls']} eager denoiser calls",
            "reported",
        ))  # fmt: skip
    return rows


def _stack_rows(name: str, s: dict[str, Any]) -> list[str]:
    title = {"triton": "Triton stack (neurall gpu + serve)", "embedded": "embedded stack"}[name]
    if "error" in s or "skipped" in s:
        why = s.get("error", s.get("skipped", ""))[:200]
        return [_row(f"{title}", "failed" if "error" in s else "skipped", "-", "-", why)]
    rows = []
    one = s["single"]
    rows.append(_row(
        f"{title}: job end to end, 1 in flight, p50 / p99 ms",
        f"{one['end_to_end_ms']['median']:.0f} / {one['end_to_end_ms']['p99']:.0f}",
        f"in-process {one['in_process_ms']['median']:.0f} / {one['in_process_ms']['p99']:.0f}",
        f"overhead {one['overhead_ms']:.0f} ms = {100 * one['overhead_ratio']:.1f}%",
        f"< 5%: {_met(one['overhead_ratio'] < 0.05)}",
    ))  # fmt: skip
    sat = s.get("saturation")
    if sat and sat["end_to_end_ms"]["n"]:
        ratio = sat["jobs_per_s"] / sat["in_process_jobs_per_s"]
        busy = sat["pipeline"]["busy_fraction"]
        rows.append(_row(
            f"{title}: jobs/s at saturation ({s['params']['saturation_clients']} clients)",
            f"{sat['jobs_per_s']:.2f} (busy {100 * busy:.0f}%, batches "
            f"{_sizes(sat['pipeline'])})",
            f"in-process {sat['in_process_jobs_per_s']:.2f} (busy "
            f"{100 * sat['in_process_pipeline']['busy_fraction']:.0f}%, batches "
            f"{_sizes(sat['in_process_pipeline'])})",
            f"{ratio:.2f}",
            f">= 0.95: {_met(ratio >= 0.95)}; busy >= 95%: {_met(busy >= 0.95)}",
        ))  # fmt: skip
    return rows


def _sizes(use: dict[str, Any]) -> str:
    sizes = use.get("batch_sizes", [])
    return " ".join(str(size) for size in sizes[:24]) + (" ..." if len(sizes) > 24 else "")
