"""`neurall gpu` killed hard leaves no Triton server behind, and one started on ports that
are taken says so and exits instead of half-starting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from neurall.gpu.guardian import descendants
from tests.support.poll import until_sync
from tests.support.ports import free_port
from tests.support.processes import NEURALL, wait_http

pytestmark = pytest.mark.slow


def _gpu_command(grpc: int, http: int, metrics: int) -> list[str]:
    return [
        *NEURALL, "gpu", "--host", "127.0.0.1", "--grpc-port", str(grpc),
        "--http-port", str(http), "--metrics-port", str(metrics), "--device", "cpu",
    ]  # fmt: skip


def _env(tmp_path: Path, models: Path) -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if not (data / "models").exists():
        (data / "models").symlink_to(models, target_is_directory=True)
    return {**os.environ, "NEURALL_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_a_killed_neurall_gpu_takes_its_triton_server_with_it(
    tmp_path: Path,
    tiny_models: Path,
    gpu_server: Path,
):
    grpc, http, metrics = free_port(), free_port(), free_port()
    log = tmp_path / "gpu.log"
    with log.open("wb") as out:
        gpu = subprocess.Popen(
            _gpu_command(grpc, http, metrics),
            env=_env(tmp_path, tiny_models),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{http}/v2/models/neurall_models/ready", gpu, log)
        tree = descendants(gpu.pid)
        servers = [p for p in tree if "tritonserver" in _command_line(p)]
        assert servers, [_command_line(p) for p in tree]
        gpu.send_signal(signal.SIGKILL)
        gpu.wait(timeout=10)
        until_sync(
            lambda: [_command_line(p) for p in tree if _alive(p)],
            lambda alive: not alive,
            within=30,
            what="every process of `neurall gpu` gone",
        )
        assert all(_port_free(p) for p in (grpc, http, metrics))
    finally:
        if gpu.poll() is None:
            gpu.kill()


def test_neurall_gpu_on_a_port_in_use_says_so_and_exits(
    tmp_path: Path,
    tiny_models: Path,
    gpu_server: Path,
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            _gpu_command(free_port(), port, free_port()),
            env=_env(tmp_path, tiny_models),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr, result.stderr[-2000:]
