"""The wheels a GPU machine needs for `python -m bench gpu-check`, built here, installed there.

The measuring machines (docs/performance.md, "Taking the GPU figures") have Python 3.12,
torch, numpy 2, transformers, peft and accelerate, and no network. Everything else Neurall
imports travels with a run, as wheels, and one run carries at most 64 MiB with the project's
files. So the wheels come in numbered folders, one per run, each at most ``FOLDER_MIB``:

- ``gpu-wheels/1``: nvidia-pytriton alone (55 MB; Triton's server binaries are inside);
- ``gpu-wheels/2``, ``3``: the rest of Neurall's runtime closure (diffusers, tritonclient,
  aiohttp, Strawberry, Tortoise, ...), pinned to the versions of this checkout's ``.venv``,
  less what the GPU image already has (``ON_GPU_IMAGE``), plus numpy 1.26 for PyTriton's
  Triton stub (it fails on numpy 2; docs/performance.md), packed largest first.

Build here (``build``; needs the package index)::

    .venv/bin/python scripts/gpu_wheels.py build

Install there (``install``; no network: ``pip --no-index``), each run its own folder, into
a virtual environment outside the checkout that stays on the machine between runs (it sees
the image's packages: ``--system-site-packages``). A venv, not ``pip --target``: PyTriton
finds its bundled libraries only when it sits in a site-packages folder. numpy 1.26 goes to
a second environment, ``<venv>-stub``, that runs only Triton's stub (``neurall gpu
--stub-python``, NEURALL_TRITON_STUB_PYTHON) and sees the first one's packages after its own::

    python3 scripts/gpu_wheels.py install gpu-wheels/1 --venv $HOME/neurall-venv

``install`` skips a wheel the machine's Python already has at that version; any other
version of it the image has is shadowed in the venv by the one tested here. ``check``
imports what the GPU check needs. Everything is ``--no-deps``: the closure is computed here.
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
# Each folder with the project's files (about 6 MiB) must fit one run's 64 MiB.
FOLDER_MIB = 56
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
# For the Triton stub's environment only (about 18 MB for cp312).
STUB_NUMPY = "numpy==1.26.4"


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


def download(pins: list[str], folder: Path, python_version: str = PYTHON_VERSION) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp", *platforms,
            "--dest", str(folder), *pins,
        ],
        check=True,
    )  # fmt: skip


def folder_mib(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.glob("*.whl")) / 2**20


def pack(wheels: list[Path], limit_mib: float) -> list[list[Path]]:
    """``wheels`` in as few groups of at most ``limit_mib`` as first-fit, largest first,
    gives."""
    groups: list[list[Path]] = []
    sizes: list[float] = []
    for wheel in sorted(wheels, key=lambda w: w.stat().st_size, reverse=True):
        mib = wheel.stat().st_size / 2**20
        index = next((i for i, used in enumerate(sizes) if used + mib <= limit_mib), None)
        if index is None:
            groups.append([])
            sizes.append(0.0)
            index = len(groups) - 1
        groups[index].append(wheel)
        sizes[index] += mib
    return groups


def build(dest: Path, python_version: str = PYTHON_VERSION) -> None:
    import shutil

    shutil.rmtree(dest, ignore_errors=True)
    first = [f"{name}=={metadata.version(name)}" for name in FIRST]
    download(first, dest / "1", python_version)
    staging = dest / "staging"
    download([*second_run_pins(), STUB_NUMPY], staging, python_version)
    for number, group in enumerate(pack(sorted(staging.glob("*.whl")), FOLDER_MIB), start=2):
        (dest / str(number)).mkdir()
        for wheel in group:
            wheel.rename(dest / str(number) / wheel.name)
    staging.rmdir()
    for folder in sorted(dest.iterdir()):
        print(f"{folder}: {len(list(folder.glob('*.whl')))} wheels, {folder_mib(folder):.1f} MiB")


def wheel_distribution(path: Path) -> str:
    return normalise(path.name.split("-")[0])


def wheel_version(path: Path) -> str:
    return path.name.split("-")[1]


def installed(wheel: Path) -> bool:
    """Whether the running Python has ``wheel``'s distribution at that very version."""
    try:
        return metadata.version(wheel_distribution(wheel)) == wheel_version(wheel)
    except metadata.PackageNotFoundError:
        return False


def _site_packages(python: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def _venv(path: Path, *, system: bool) -> Path:
    """The venv at ``path`` (made without pip: the image's pip runs it, through
    ``--system-site-packages`` or the stub's .pth), its python."""
    if not (path / "bin" / "python").exists():
        options = ["--system-site-packages"] if system else []
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", *options, str(path)], check=True
        )
    return path / "bin" / "python"


def _pip_install(python: Path, wheels: list[Path], target: str | None = None) -> None:
    where = ["--target", target, "--upgrade"] if target else []
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", *where, *map(str, wheels)],
        check=True,
    )


def install(folder: Path, venv: Path) -> None:
    """Install the wheels of ``folder`` the machine's Python lacks into ``venv``; numpy
    (the stub's) into ``<venv>-stub``."""
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels in {folder}")
    stub_numpy = [w for w in wheels if wheel_distribution(w) == "numpy"]
    missing = [w for w in wheels if w not in stub_numpy and not installed(w)]
    for wheel in wheels:
        state = (
            "stub environment"
            if wheel in stub_numpy
            else "install"
            if wheel in missing
            else "present, skipped"
        )
        print(f"{wheel.name}: {state}")
    python = _venv(venv, system=True)
    if missing:
        _pip_install(python, missing)
    if stub_numpy:
        stub_python = _venv(venv.parent / f"{venv.name}-stub", system=False)
        stub_site = _site_packages(stub_python)
        # pip from the main venv (the image's), installing into the stub's folder.
        _pip_install(python, stub_numpy, target=stub_site)
        # After its own numpy: the main venv's packages (PyTriton's proxy, pyzmq), then the
        # image's.
        import site

        paths = [_site_packages(python), *site.getsitepackages()]
        (Path(stub_site) / "neurall-main-venv.pth").write_text("\n".join(paths) + "\n")


def check() -> None:
    """Import what the GPU check imports, with the venv's Python."""
    # A script's own folder is on sys.path, not the checkout it sits in.
    sys.path.insert(0, str(ROOT))
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
    built = commands.add_parser("build", help="download the wheel folders (here)")
    built.add_argument("--dest", type=Path, default=DEST)
    built.add_argument(
        "--python-version",
        default=PYTHON_VERSION,
        help="the GPU machine's (3.12); 3.11 builds the set this machine can install and "
        "import (scripts/check_gpu_wheels.sh)",
    )
    commands.add_parser("pins", help="print the second run's pins")
    installing = commands.add_parser("install", help="install one folder (on the GPU machine)")
    installing.add_argument("folder", type=Path)
    installing.add_argument("--venv", type=Path, required=True)
    commands.add_parser("check", help="import what the GPU check needs")
    args = parser.parse_args()
    if args.command == "build":
        build(args.dest, args.python_version)
    elif args.command == "pins":
        print("\n".join(second_run_pins()))
    elif args.command == "install":
        install(args.folder, args.venv)
    else:
        check()


if __name__ == "__main__":
    main()
