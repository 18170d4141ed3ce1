"""Where an API job's request waits for its worker without outliving the job.

The privacy promise: an API job's prompt and parameters are never written to the database,
logs, or any store that outlives the job. Dramatiq messages are no place for them (dead
letters keep bodies for 7 days, and persistent messages sit on the broker's disk), so the
message carries only the job id and the request waits here:

- ``MemoryPayloadStore`` (embedded): a dict in the `neurall serve` process, which also runs
  the worker. Nothing touches a disk; a restart loses the request and the job fails, refunded.
- ``RabbitPayloadStore`` (distributed): one non-durable queue per job, ``neurall.payload.<id>``,
  holding one non-persistent message. The queue carries ``x-expires`` and the message
  ``x-message-ttl`` (NEURALL_API_PAYLOAD_TTL_S), and it has no dead-letter exchange, so
  RabbitMQ drops it by itself even if every process dies. A worker reads it with a get that
  it does not acknowledge (nack with requeue), so retries and redelivery after a crash still
  find it, and deletes the queue when the job ends. It lives in RabbitMQ's memory; under
  memory pressure RabbitMQ may page transient messages to its transient store, which is
  wiped on restart and never replicated.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from aio_pika.exceptions import ChannelClosed


class PayloadStore(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def is_connected(self) -> bool: ...

    async def put(self, job_id: uuid.UUID, payload: bytes) -> None: ...

    async def get(self, job_id: uuid.UUID) -> bytes | None:
        """The payload, left in place for a retry; None when it is gone."""

    async def delete(self, job_id: uuid.UUID) -> None:
        """Forget the payload (the job ended); deleting twice is fine."""


class MemoryPayloadStore:
    def __init__(self) -> None:
        self._payloads: dict[uuid.UUID, bytes] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._payloads.clear()

    def is_connected(self) -> bool:
        return True

    async def put(self, job_id: uuid.UUID, payload: bytes) -> None:
        self._payloads[job_id] = payload

    async def get(self, job_id: uuid.UUID) -> bytes | None:
        return self._payloads.get(job_id)

    async def delete(self, job_id: uuid.UUID) -> None:
        self._payloads.pop(job_id, None)


def _queue_name(job_id: uuid.UUID) -> str:
    return f"neurall.payload.{job_id}"


class RabbitPayloadStore:
    def __init__(self, url: str, ttl_s: int) -> None:
        self._url = url
        self._ttl_ms = ttl_s * 1000
        self._connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    def is_connected(self) -> bool:
        connection = self._connection
        return connection is not None and connection.connected.is_set()

    async def _channel(self) -> AbstractChannel:
        assert self._connection is not None, "start() first"
        # A short-lived channel per operation: a passive declare of a missing queue closes
        # its channel, which must not take a shared one down with it.
        return await self._connection.channel()

    async def put(self, job_id: uuid.UUID, payload: bytes) -> None:
        channel = await self._channel()
        try:
            await channel.declare_queue(
                _queue_name(job_id),
                durable=False,
                arguments={"x-expires": self._ttl_ms, "x-message-ttl": self._ttl_ms},
            )
            # Publisher confirms are on by default in aio-pika: this returns once stored.
            await channel.default_exchange.publish(
                aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT),
                routing_key=_queue_name(job_id),
            )
        finally:
            await channel.close()

    async def get(self, job_id: uuid.UUID) -> bytes | None:
        channel = await self._channel()
        try:
            queue = await channel.declare_queue(_queue_name(job_id), passive=True)
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                return None
            body = message.body
            await message.nack(requeue=True)
            return body
        except ChannelClosed:  # no such queue: expired or deleted
            return None
        finally:
            if not channel.is_closed:
                await channel.close()

    async def delete(self, job_id: uuid.UUID) -> None:
        channel = await self._channel()
        try:
            await channel.queue_delete(_queue_name(job_id))
        except ChannelClosed:
            pass
        finally:
            if not channel.is_closed:
                await channel.close()
