"""Storage in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), through aiobotocore.

Configured by ``NEURALL_STORAGE_URL=s3://bucket/prefix?endpoint=https://host&region=eu-west-1``;
credentials come from botocore's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
AWS_PROFILE and its files, or the instance's role), never from the URL, so no secret sits in
a setting that is printed or logged.

Objects are written with one PUT (or a multipart upload for big files), which S3 makes
visible all at once: a reader never sees half an image. Reads stream the response body in
chunks. Deletes are real: the bucket must not keep old versions (see docs/storage.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurall.storage.base import CHUNK_BYTES, ObjectStream, StoredObject, check_key

# Multipart uploads: S3 needs parts of at least 5 MiB (but the last); files up to one part
# go in a single PUT.
PART_BYTES = 8 * 1024 * 1024
# delete_objects takes at most 1000 keys per call.
_DELETE_BATCH = 1000
_MISSING = {"404", "NoSuchKey", "NotFound"}
_ADDRESSING = {"path", "virtual", "auto"}


@dataclass(frozen=True)
class S3Location:
    """Where the objects live: a bucket, a key prefix in it, and how to reach it."""

    bucket: str
    prefix: str = ""  # "" or "some/prefix/"
    endpoint: str | None = None  # None: AWS's own endpoint for the region
    region: str | None = None  # None: botocore's default (AWS_DEFAULT_REGION, config)
    addressing: str = "auto"

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """``s3://bucket[/prefix][?endpoint=URL&region=NAME&addressing=path|virtual|auto]``;
        ValueError names what is wrong. Path-style addressing is the default with an
        endpoint (MinIO and most self-hosted servers need it)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("must look like s3://bucket/prefix?endpoint=...&region=...")
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in the URL: use AWS_ACCESS_KEY_ID etc.")
        query = dict(urllib.parse.parse_qsl(parts.query, strict_parsing=bool(parts.query)))
        unknown = set(query) - {"endpoint", "region", "addressing"}
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        endpoint = query.get("endpoint") or None
        if endpoint is not None and urllib.parse.urlsplit(endpoint).scheme not in (
            "http",
            "https",
        ):
            raise ValueError("endpoint must be an http:// or https:// URL")
        addressing = query.get("addressing") or ("path" if endpoint else "auto")
        if addressing not in _ADDRESSING:
            raise ValueError("addressing must be path, virtual or auto")
        prefix = parts.path.strip("/")
        if prefix:
            check_key(prefix)
            prefix += "/"
        return cls(parts.netloc, prefix, endpoint, query.get("region") or None, addressing)


def _missing(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code")) in _MISSING


class S3Storage:
    """The Storage interface on a bucket. One client per instance, opened on first use on
    the event loop that uses it (aiobotocore clients belong to one loop)."""

    def __init__(self, location: S3Location, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.location = location
        self.chunk_bytes = chunk_bytes
        self._client: Any = None
        self._exit: contextlib.AsyncExitStack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None:
            if self._loop is not loop:
                raise RuntimeError("an S3Storage is used on one event loop only")
            return self._client
        async with self._lock:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                config = AioConfig(
                    s3={"addressing_style": self.location.addressing},
                    retries={"max_attempts": 4, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                    max_pool_connections=32,
                )
                exit_stack = contextlib.AsyncExitStack()
                self._client = await exit_stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        endpoint_url=self.location.endpoint,
                        region_name=self.location.region,
                        config=config,
                    )
                )
                self._exit, self._loop = exit_stack, loop
        return self._client

    def _key(self, key: str) -> str:
        return self.location.prefix + check_key(key)

    def _folder(self, prefix: str) -> str:
        return self._key(prefix.rstrip("/")) + "/"

    def _object(self, full_key: str, modified: Any, size: int) -> StoredObject:
        return StoredObject(full_key[len(self.location.prefix) :], modified, int(size))

    async def put(self, key: str, data: bytes) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.location.bucket, Key=self._key(key), Body=data)

    async def put_file(self, key: str, path: Path) -> None:
        size = (await asyncio.to_thread(path.stat)).st_size
        if size <= PART_BYTES:
            await self.put(key, await asyncio.to_thread(path.read_bytes))
            return
        s3 = await self._s3()
        target = {"Bucket": self.location.bucket, "Key": self._key(key)}
        upload_id = (await s3.create_multipart_upload(**target))["UploadId"]
        try:
            parts = []
            with path.open("rb") as handle:
                number = 1
                while part := await asyncio.to_thread(handle.read, PART_BYTES):
                    sent = await s3.upload_part(
                        **target, UploadId=upload_id, PartNumber=number, Body=part
                    )
                    parts.append({"ETag": sent["ETag"], "PartNumber": number})
                    number += 1
            await s3.complete_multipart_upload(
                **target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # An unfinished upload's parts are stored (and billed) until aborted.
            with contextlib.suppress(Exception):
                await s3.abort_multipart_upload(**target, UploadId=upload_id)
            raise

    async def _get_object(self, key: str) -> Any:
        s3 = await self._s3()
        try:
            return await s3.get_object(Bucket=self.location.bucket, Key=self._key(key))
        except s3.exceptions.ClientError as exc:
            if _missing(exc):
                return None
            raise

    async def get(self, key: str) -> bytes | None:
        response = await self._get_object(key)
        if response is None:
            return None
        async with response["Body"] as body:
            return await body.read()

    async def open(self, key: str) -> ObjectStream | None:
        response = await self._get_object(key)
        if response is None:
            return None
        body = response["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in body.iter_chunks(self.chunk_bytes):
                yield chunk

        return ObjectStream(int(response["ContentLength"]), chunks(), body.aclose)

    async def stat(self, key: str) -> StoredObject | None:
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.location.bucket, Key=self._key(key))
        except s3.exceptions.ClientError as exc:
            if _missing(exc):
                return None
            raise
        return StoredObject(key, head["LastModified"], int(head["ContentLength"]))

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.location.bucket, Key=self._key(key))

    async def _full_keys(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        s3 = await self._s3()
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(
            Bucket=self.location.bucket, Prefix=self._folder(prefix)
        ):
            for item in page.get("Contents", []):
                yield item

    async def delete_many(self, keys: Sequence[str]) -> None:
        await self._delete_full([self._key(key) for key in keys])

    async def _delete_full(self, full_keys: list[str]) -> None:
        if not full_keys:
            return
        s3 = await self._s3()
        for start in range(0, len(full_keys), _DELETE_BATCH):
            batch = full_keys[start : start + _DELETE_BATCH]
            result = await s3.delete_objects(
                Bucket=self.location.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            errors = result.get("Errors") or []
            if errors:
                codes = sorted({str(e.get("Code")) for e in errors})
                raise OSError(f"{len(errors)} object(s) could not be deleted: {codes}")

    async def delete_prefix(self, prefix: str) -> int:
        keys = [item["Key"] async for item in self._full_keys(prefix)]
        await self._delete_full(keys)
        return len(keys)

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        return [
            self._object(item["Key"], item["LastModified"], item["Size"])
            async for item in self._full_keys(prefix)
        ]

    async def close(self) -> None:
        exit_stack, self._exit, self._client, self._loop = self._exit, None, None, None
        if exit_stack is not None:
            await exit_stack.aclose()
