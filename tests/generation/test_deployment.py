"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code:
every Neurall service runs a real `neurall` command and sets only real settings, and its
workers, like the layout docs/operations.md documents, consume every queue the code declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from neurall.cli import _parser
from neurall.clones.runtime import CloneRuntime
from neurall.clones.store import ModelStore
from neurall.config import Settings, load_settings
from neurall.generation.runtime import GenerationRuntime
from neurall.storage import make_storage
from neurall.workers.actors import declare_actors
from neurall.workers.broker import build_broker

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _neurall_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in _compose()["services"].items()
        if service.get("command", [None])[0] == "neurall"
    }


def test_expected_services_exist():
    services = _compose()["services"]
    assert {"api", "worker", "gpu", "rabbitmq", "postgres"} <= set(services)
    for name in ("api", "worker", "gpu", "rabbitmq", "postgres"):
        assert "healthcheck" in services[name] or name == "worker", name
    assert services["gpu"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == (
        "nvidia"
    )
    assert (ROOT / "Dockerfile").exists()


@pytest.mark.parametrize("name", sorted(_neurall_services()))
def test_command_is_a_real_cli_command(name):
    command = _neurall_services()[name]["command"]
    args, rest = _parser().parse_known_args(command[1:])
    assert args.command in {"serve", "worker", "gpu", "migrate"}
    if args.command == "gpu":
        # The pass-through options must be the Triton server's own (neurall.gpu.triton_server).
        known = {"--host", "--grpc-port", "--http-port", "--metrics-port", "--model",
                 "--cache-dir", "--max-batch-size", "--max-queue-delay-us", "--stats-file",
                 "--device", "--pipeline-metrics-port", "--safety-checker",
                 "--safety-policy"}  # fmt: skip
        assert {a for a in rest if a.startswith("--")} <= known
    else:
        assert rest == []


@pytest.mark.parametrize("name", sorted(_neurall_services()))
def test_environment_names_real_settings(name):
    environment = _neurall_services()[name].get("environment", {})
    fields = set(Settings.model_fields)
    for variable in environment:
        if variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            continue  # the bucket's credentials, read by botocore (docs/storage.md)
        assert variable.startswith("NEURALL_"), variable
        assert variable.removeprefix("NEURALL_").lower() in fields, variable


def test_prometheus_scrapes_the_ports_compose_opens():
    """deploy/prometheus/prometheus.yml's targets are compose services serving metrics there:
    the api on its port, workers on NEURALL_METRICS_PORT, gpu on its two metrics ports."""
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    services = _compose()["services"]
    for job in config["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            service = services[host]
            command, env = service["command"], service.get("environment", {})
            served = {env.get("NEURALL_METRICS_PORT")}
            served |= {command[i + 1] for i, a in enumerate(command) if a.endswith("-port")}
            assert port in served, (job["job_name"], target)


def _declared_queues(tmp_path: Path) -> set[str]:
    """Every queue the actors are declared on (as `neurall worker` declares them), without
    Dramatiq's delay queues (``<queue>.DQ``), which the worker consuming a queue also takes."""
    settings = load_settings(data_dir=tmp_path)
    storage = make_storage(settings)
    models = ModelStore(storage)
    broker = build_broker(settings)
    declare_actors(
        broker,
        GenerationRuntime.from_settings(settings, storage, models),
        CloneRuntime.from_settings(settings, storage, models),
        settings,
    )
    return {q for q in broker.get_declared_queues() if not q.endswith(".DQ")}


def _consumed(worker_commands: list[list[str]], declared: set[str]) -> set[str]:
    consumed: set[str] = set()
    for command in worker_commands:
        args, _ = _parser().parse_known_args(command)
        assert args.command == "worker", command
        # No --queues: that worker consumes every declared queue.
        consumed |= set(filter(None, args.queues.split(","))) if args.queues else declared
    return consumed


def _documented_worker_commands() -> list[list[str]]:
    """The `neurall worker` commands of the process table in docs/operations.md."""
    text = (ROOT / "docs/operations.md").read_text()
    section = text.split("## Running the distributed form", 1)[1].split("\n## ", 1)[0]
    commands = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[1].startswith("`neurall worker"):
            # Drop the optional parts ([--threads N]) and the backticks.
            command = re.sub(r"\[[^\]]*\]", "", cells[1].strip("`"))
            commands.append(command.split()[1:])
    return commands


def test_compose_consumes_every_declared_queue(tmp_path):
    declared = _declared_queues(tmp_path)
    assert {"generation", "training", "maintenance", "webhooks", "mail"} <= declared
    workers = [
        s["command"][1:] for s in _neurall_services().values() if s["command"][1] == "worker"
    ]
    assert declared - _consumed(workers, declared) == set()


def test_documented_layout_consumes_every_declared_queue(tmp_path):
    declared = _declared_queues(tmp_path)
    workers = _documented_worker_commands()
    assert workers, "no `neurall worker` row in docs/operations.md's process table"
    assert declared - _consumed(workers, declared) == set()
