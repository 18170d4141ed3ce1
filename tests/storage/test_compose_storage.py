"""docker-compose.yml as a layout for several hosts: every Neurall process stores in the
bucket of an S3 service, and no volume is shared between two of them (a shared volume only
works while they sit on one host). Read only: there is no Docker engine here."""

from __future__ import annotations

import urllib.parse
from collections import Counter
from pathlib import Path

import yaml

from neurall.storage.s3 import S3Location

ROOT = Path(__file__).resolve().parents[2]


def _services() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _neurall() -> dict[str, dict]:
    return {
        name: service
        for name, service in _services().items()
        if service.get("command", [None])[0] == "neurall"
    }


def _volume_source(mount: str | dict) -> str:
    if isinstance(mount, dict):
        return str(mount.get("source", ""))
    return mount.split(":", 1)[0] if ":" in mount else ""  # "/data" alone: anonymous


def test_the_api_worker_and_gpu_processes_are_there():
    assert {"api", "worker", "webhooks", "gpu"} <= set(_neurall())


def test_no_volume_is_mounted_by_two_neurall_services():
    mounts = Counter(
        source
        for service in _neurall().values()
        for source in {_volume_source(m) for m in service.get("volumes", [])}
        if source
    )
    assert [source for source, count in mounts.items() if count > 1] == []


def test_every_neurall_service_stores_in_the_same_bucket_of_the_object_store():
    services = _services()
    locations = set()
    for name, service in _neurall().items():
        environment = service["environment"]
        url = environment.get("NEURALL_STORAGE_URL", "")
        assert url.startswith("s3://"), name
        location = S3Location.parse(url)
        assert location.endpoint is not None
        # The endpoint is a service of this file, reached by its name.
        host = urllib.parse.urlsplit(location.endpoint).hostname
        assert host in services, (name, host)
        # Credentials for botocore's chain, never in the URL.
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(environment), name
        locations.add(location)
    assert len(locations) == 1
    (location,) = locations
    store = services[urllib.parse.urlsplit(location.endpoint).hostname]
    assert "healthcheck" in store
    # Something creates the bucket before the processes start.
    creator = [
        name
        for name, service in services.items()
        if f"/{location.bucket}" in " ".join(map(str, service.get("command", [])))
    ]
    assert creator
    for name in ("api", "worker", "gpu"):
        condition = services[name]["depends_on"][creator[0]]["condition"]
        assert condition == "service_completed_successfully", name
