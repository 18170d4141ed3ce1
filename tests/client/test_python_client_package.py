"""The SDK as a user installs it: `python -m build` makes its wheel, and that wheel
installed in a clean venv brings neither torch nor the server, whose import stays out of
`import neurall_client`.

The venv is made without pip and filled by this venv's pip (``pip --python``), from the
package index pip is configured with (this machine's local one): that skips ensurepip's
seconds and still resolves the wheel's dependencies the way a user's ``pip install``
does. The wheel is built without isolation (setuptools from this venv) for the same
reason; `python -m build` with isolation differs only in where setuptools comes from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "clients" / "python"
SERVER_SIDE = {"torch", "neurall", "diffusers", "transformers", "strawberry", "strawberry-graphql"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdk-dist")
    # Built from a copy: setuptools writes build/ and egg-info beside the sources.
    source = out / "src"
    leftovers = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".*")
    shutil.copytree(SDK, source, ignore=leftovers)
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)]
    subprocess.run([*build, str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("neurall_client-0.1.0-*.whl")
    return built


def test_the_wheel_carries_the_package_its_types_and_only_client_dependencies(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read("neurall_client-0.1.0.dist-info/METADATA").decode()
    assert "neurall_client/py.typed" in names
    assert "neurall_client/_generated/client.py" in names
    assert not [n for n in names if n.startswith(("neurall/", "tests/"))]
    requires = {line.split(":", 1)[1].split()[0].split(">")[0].split("<")[0].lower()
                for line in metadata.splitlines() if line.startswith("Requires-Dist:")}  # fmt: skip
    assert requires == {"httpx", "websockets", "pydantic"}
    assert "Requires-Python: >=3.9" in metadata


def test_a_clean_venv_installs_it_without_torch_or_the_server(wheel: Path, tmp_path: Path):
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "list", "--format=json"],
        check=True, capture_output=True, timeout=120,
    ).stdout  # fmt: skip
    installed = {p["name"].lower() for p in json.loads(listed)}
    assert "neurall-client" in installed
    assert not installed & SERVER_SIDE, installed & SERVER_SIDE
    # Run from an empty directory with no PYTHONPATH, so only the venv's packages are seen.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = (
        "import sys, neurall_client\n"
        "from neurall_client import Client, AsyncClient, webhooks\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'neurall', 'diffusers'}))"
    )
    imported = subprocess.run([str(python), "-c", probe], check=True, capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=120)  # fmt: skip
    assert imported.stdout.strip() == "[]"
