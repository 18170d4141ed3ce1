"""The sentinel sweep's searches: every place a request or a result could linger.

``Places.scan(needles)`` searches the PostgreSQL dump, every file under the data
directories (SQLite files, local storage, caches), every object of the S3 bucket when the
storage is one (listed and read whole, keys included), the processes' captured logs and
every message of every queue of the stack's private RabbitMQ vhost (dead-letter .DQ and
delay .XQ queues included), and returns where each needle was found.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pika
from PIL import Image

from tests.support.processes import NEURALL
from tests.support.s3 import S3Bucket
from tests.support.services import rabbitmqctl


def sweep(env: dict[str, str]) -> None:
    """`neurall retention run`, as an operator (or the maintenance actor) would."""
    result = subprocess.run(
        [*NEURALL, "retention", "run"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def input_image(side: int = 64) -> tuple[bytes, list[bytes]]:
    """A canary input image (random pixels, so no slice of it occurs anywhere by chance) as
    uploaded, and the needles for it: the upload's bytes and those of the cleaned image the
    server keeps while the job lives (the same pixels, re-encoded without metadata)."""
    from neurall.config import Settings
    from neurall.generation.params import validate

    pixels = np.random.default_rng().integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    uploaded = buffer.getvalue()
    cleaned = validate({"prompt": "p", "init_image": uploaded}, Settings()).init_image
    assert cleaned is not None
    needles = image_needles(uploaded) + image_needles(cleaned)
    return uploaded, list(dict.fromkeys(needles))


def image_needles(png: bytes) -> list[bytes]:
    """The image as raw bytes, base64 and hex (how a dump or a JSON body would hold it).
    A slice from the middle, so headers shared by every PNG do not match."""
    middle = png[len(png) // 4 : len(png) // 4 + 48]
    assert len(middle) == 48, "image too small to be a meaningful needle"
    return [middle, base64.b64encode(png)[40:100], middle.hex().encode()]


@dataclass
class Places:
    broker_url: str
    vhost: str
    database_url: str | None = None
    roots: list[Path] = field(default_factory=list)  # data dirs and log dirs
    bucket: S3Bucket | None = None  # the storage, when it is S3

    def queue_names(self) -> list[str]:
        out = rabbitmqctl("list_queues", "-q", "-p", self.vhost, "--no-table-headers", "name")
        return [line.strip() for line in out.splitlines() if line.strip()]

    def queue_messages(self) -> dict[str, list[bytes]]:
        """Every message body (with its headers) of every queue, left in place."""
        found: dict[str, list[bytes]] = {}
        connection = pika.BlockingConnection(pika.URLParameters(self.broker_url))
        try:
            for name in self.queue_names():
                channel = connection.channel()
                bodies = []
                while True:
                    method, properties, body = channel.basic_get(name, auto_ack=False)
                    if method is None:
                        break
                    bodies.append(repr(properties.headers).encode() + b"\n" + body)
                found[name] = bodies
                channel.close()  # unacknowledged messages go back to their queue
        finally:
            connection.close()
        return found

    def pg_dump(self) -> bytes:
        assert self.database_url is not None
        result = subprocess.run(
            ["pg_dump", self.database_url.replace("postgres://", "postgresql://", 1)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout

    def files(self) -> list[Path]:
        paths = []
        for root in self.roots:
            for folder, dirs, names in os.walk(root, followlinks=False):
                dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
                paths += [Path(folder) / n for n in names]
        return [p for p in paths if p.is_file() and not p.is_symlink()]

    def scan(self, needles: list[bytes]) -> list[str]:
        """Where any needle occurs: 'pg_dump', a file path, or 'queue <name>'."""
        hits = []
        if self.database_url is not None:
            dump = self.pg_dump()
            hits += [f"pg_dump: {n[:24]!r}" for n in needles if n in dump]
        for path in self.files():
            data = path.read_bytes()
            hits += [f"{path}: {n[:24]!r}" for n in needles if n in data]
        if self.bucket is not None:
            for key, data in self.bucket.objects().items():
                hits += [f"s3 {key}: {n[:24]!r}" for n in needles if n in data or n in key.encode()]
        for queue, bodies in self.queue_messages().items():
            for body in bodies:
                hits += [f"queue {queue}: {n[:24]!r}" for n in needles if n in body]
        return hits
