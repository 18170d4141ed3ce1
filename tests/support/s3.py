"""A real S3 API on loopback for the tests: moto's server (``moto[server]``), the only S3
server installable here. Nothing in neurall knows it is moto: processes get an ordinary
``NEURALL_STORAGE_URL`` with an endpoint, and credentials in the usual AWS variables.

- ``s3_server()`` starts ``ThreadedMotoServer`` on a free loopback port (the conftest's
  session fixture ``s3_endpoint`` holds one for the whole run);
- ``new_bucket(endpoint)`` creates an empty bucket of a unique name and returns an
  ``S3Bucket``: its ``url`` (NEURALL_STORAGE_URL), its ``env`` (that URL plus the AWS
  variables, for subprocesses), and ``objects()`` to list and read everything in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
# moto accepts any credentials; the files are pointed away so a developer's own AWS
# configuration is never read, and the instance-metadata lookup (network) is off.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "neurall-test",
    "AWS_SECRET_ACCESS_KEY": "neurall-test-secret",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def s3_server() -> Iterator[str]:
    """Run the S3 server on 127.0.0.1 (a free port); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    name: str
    prefix: str = "neurall"

    @property
    def url(self) -> str:
        """The NEURALL_STORAGE_URL of this bucket."""
        return f"s3://{self.name}/{self.prefix}?endpoint={self.endpoint}&region={REGION}"

    @property
    def env(self) -> dict[str, str]:
        """NEURALL_STORAGE_URL and the AWS variables, for a process's environment."""
        return {"NEURALL_STORAGE_URL": self.url, **AWS_ENV}

    def object_key(self, key: str) -> str:
        """Where neurall's ``key`` is in the bucket (under the URL's prefix)."""
        return f"{self.prefix}/{key}" if self.prefix else key

    def client(self) -> Any:
        """A plain (blocking) boto3 client on the server, for checks from the tests."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def keys(self) -> list[str]:
        """Every object key in the whole bucket (prefix included), listed page by page."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        """The object neurall stores under ``key``."""
        response = self.client().get_object(Bucket=self.name, Key=self.object_key(key))
        return response["Body"].read()

    def objects(self) -> dict[str, bytes]:
        """Every object in the whole bucket, read: key -> bytes."""
        client = self.client()
        return {
            key: client.get_object(Bucket=self.name, Key=key)["Body"].read() for key in self.keys()
        }


def new_bucket(endpoint: str, prefix: str = "neurall") -> S3Bucket:
    """An empty bucket of its own on the server at ``endpoint``."""
    bucket = S3Bucket(endpoint, f"neurall-test-{uuid.uuid4().hex[:16]}", prefix)
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket
