"""The wheels a GPU machine needs for `python -m bench gpu-check`, built here, installed there.

The measuring machines (docs/performance.md, "Taking the GPU figures") have Python 3.12,
torch, numpy 2, transformers, peft and accelerate, and no network. Everything else Neurall
imports travels with a run, as wheels, and one run carries at most 64 MiB with the project's
files. nvidia-pytriton alone is 55 MB, so the wheels come in two folders, one per run:

- ``gpu-wheels/first``: nvidia-pytriton (its Triton server binaries are inside the wheel);
- ``gpu-wheels/second``: the rest of Neurall's runtime closure (diffusers, tritonclient,
  aiohttp, Strawberry, Tortoise, ...), pinned to the versions this checkout's ``.venv`` has,
  less what the GPU image already provides (``ON_GPU_IMAGE``).

Build here (``build``; needs the package index, which this machine reaches)::

    .venv/bin/python scripts/gpu_wheels.py build

Install there (``install``; no network: ``pip --no-index``), each run its own folder, into
one folder outside the checkout that stays on the machine between runs::

    python3 scripts/gpu_wheels.py install gpu-wheels/first --target $HOME/neurall-site

``install`` skips a wheel whose distribution the machine's Python already has (whatever
version; the image's own packages win), so a richer image costs nothing and a poorer one is
told what is missing by ``check``. Everything is ``--no-deps``: the closure is computed here.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "gpu-wheels"
PYTHON_VERSION = "3.12"
# Wheels tagged for any of these glibc versions run on the GPU image (nvidia-pytriton 0.7's
# own wheel needs 2.35). pip does not widen an explicit --platform, so each is named.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(35, 16, -1)] + [
    "manylinux2014_x86_64"
]
FIRST = ["nvidia-pytriton"]
# On the GPU image already (docs/performance.md): torch and what it pulls in, numpy,
# transformers, peft, accelerate and their own dependencies. Carrying them would shadow
# the image's builds (torch's CUDA build above all) and cost most of the 64 MiB.
ON_GPU_IMAGE = {
    "torch", "numpy", "transformers", "tokenizers", "safetensors", "huggingface-hub",
    "hf-xet", "peft", "accelerate", "psutil", "regex", "tqdm", "pyyaml", "packaging",
    "requests", "certifi", "idna", "urllib3", "charset-normalizer", "filelock", "fsspec",
    "jinja2", "markupsafe", "sympy", "mpmath", "networkx", "typing-extensions", "setuptools",
    "kernels",
}  # fmt: skip
# Imported only by features the GPU check never turns on (S3 storage): 14 MB left behind.
NOT_NEEDED = {"aiobotocore", "botocore", "jmespath", "aioitertools"}
# numpy 1.26 for cp312 (about 18 MB): only if PyTriton's Triton stub needs it (see
# docs/performance.md: it does not, so it is built only on request with --numpy1).
NUMPY1 = "numpy==1.26.4"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(root: str = "neurall") -> dict[str, str]:
    """Every distribution ``root`` needs at run time (no extras), name -> installed version,
    read from this environment's metadata."""
    from packaging.requirements import Requirement

    found: dict[str, str] = {}
    pending = [Requirement(r) for r in metadata.requires(root) or [] if "extra ==" not in r]
    while pending:
        requirement = pending.pop()
        name = normalise(requirement.name)
        if name in found:
            continue
        found[name] = metadata.version(name)
        for text in metadata.requires(name) or []:
            dependency = Requirement(text)
            extras = ["", *sorted(requirement.extras)]
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras):
                pending.append(dependency)
    return found


def second_run_pins() -> list[str]:
    closure = runtime_closure()
    skip = ON_GPU_IMAGE | NOT_NEEDED | {normalise(n) for n in FIRST}
    return sorted(f"{name}=={version}" for name, version in closure.items() if name not in skip)


def download(pins: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", PYTHON_VERSION, "--implementation", "cp", *platforms,
            "--dest", str(folder), *pins,
        ],
        check=True,
    )  # fmt: skip


def folder_mib(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.glob("*.whl")) / 2**20


def build(dest: Path, numpy1: bool) -> None:
    first = [f"{name}=={metadata.version(name)}" for name in FIRST]
    download(first, dest / "first")
    download(second_run_pins() + ([NUMPY1] if numpy1 else []), dest / "second")
    for name in ("first", "second"):
        folder = dest / name
        print(f"{folder}: {len(list(folder.glob('*.whl')))} wheels, {folder_mib(folder):.1f} MiB")


def wheel_distribution(path: Path) -> str:
    return normalise(path.name.split("-")[0])


def installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def install(folder: Path, target: Path) -> None:
    """Install the wheels of ``folder`` the running Python lacks into ``target``."""
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels in {folder}")
    missing = [w for w in wheels if not installed(wheel_distribution(w))]
    for wheel in wheels:
        state = "install" if wheel in missing else "present, skipped"
        print(f"{wheel.name}: {state}")
    if missing:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                "--upgrade", "--target", str(target), *map(str, missing),
            ],
            check=True,
        )  # fmt: skip


def check() -> None:
    """Import what the GPU check imports; run with the target on PYTHONPATH."""
    modules = [
        "diffusers", "tritonclient.grpc", "pytriton.triton", "aiohttp", "strawberry",
        "tortoise", "dramatiq", "neurall.cli", "neurall.app", "neurall.gpu.triton_server",
        "bench.gpu_check",
    ]  # fmt: skip
    failed = []
    for module in modules:
        try:
            __import__(module)
        except Exception as exc:  # every failure is listed, not just the first
            failed.append(f"{module}: {exc!r}")
    import numpy

    print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}")
    print("\n".join(failed) if failed else f"imported: {', '.join(modules)}")
    if failed:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    built = commands.add_parser("build", help="download the two wheel folders (here)")
    built.add_argument("--dest", type=Path, default=DEST)
    built.add_argument("--numpy1", action="store_true", help=f"also carry {NUMPY1}")
    commands.add_parser("pins", help="print the second run's pins")
    installing = commands.add_parser("install", help="install one folder (on the GPU machine)")
    installing.add_argument("folder", type=Path)
    installing.add_argument("--target", type=Path, required=True)
    commands.add_parser("check", help="import what the GPU check needs")
    args = parser.parse_args()
    if args.command == "build":
        build(args.dest, args.numpy1)
    elif args.command == "pins":
        print("\n".join(second_run_pins()))
    elif args.command == "install":
        install(args.folder, args.target)
    else:
        check()


if __name__ == "__main__":
    main()
