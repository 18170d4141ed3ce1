"""InferenceBackend talking to `neurall gpu` (Triton) over gRPC streaming.

One bidirectional stream per generation: the request goes up, then one response per denoising
step and a final one with the PNGs come down. Closing the iterator early cancels the gRPC call
(the Triton server, through PyTriton, cannot see that and finishes the batch; the client simply
stops listening). Transport failures (server down, unreachable, deadline) become
``InferenceUnavailable`` so callers retry; errors the server reports become ``InferenceError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
from tritonclient.grpc import InferInput, InferRequestedOutput
from tritonclient.grpc import aio as grpc_aio
from tritonclient.utils import InferenceServerException

from neurall.gpu.catalog import triton_name
from neurall.gpu.protocol import (
    INPUTS,
    KIND_ERROR,
    KIND_FINAL,
    KIND_STEP,
    STATES_INPUT,
    STATES_MODEL,
    STATES_OUTPUT,
    to_tensors,
)
from neurall.gpu.types import (
    GenerationRequest,
    GenerationResult,
    InferenceError,
    InferenceUnavailable,
    StepProgress,
)

logger = logging.getLogger(__name__)

# Codes that mean "the server could not be reached or did not answer in time": retry later.
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.CANCELLED,
}
READY_TIMEOUT_S = 5.0
# After the result, how long to wait for the server to end the stream (it ends when the
# whole server-side batch is done) before cancelling it.
DRAIN_TIMEOUT_S = 120.0


def _target(url: str) -> str:
    if not url.startswith("grpc://"):
        raise ValueError("Triton url must look like grpc://host:port")
    target = url.removeprefix("grpc://").rstrip("/")
    if not target:
        raise ValueError("Triton url must look like grpc://host:port")
    return target


def _inputs(request: GenerationRequest) -> list[InferInput]:
    inputs = []
    for name, array in to_tensors(request).items():
        tensor = InferInput(name, list(array.shape), INPUTS[name][1])
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


# What Triton says while a model is still loading (PyTriton registers it after the server
# is up), being reloaded, or its server is stopping: retry like any outage.
_TRANSIENT_MESSAGES = ("unknown model", "is not ready", "unavailable", "server is stopping")


def _triton_error(code: object, details: str | None) -> InferenceError:
    """The error for what Triton reported, over the RPC or inside the stream alike."""
    text = (details or "").lower()
    if code in _TRANSIENT or any(m in text for m in _TRANSIENT_MESSAGES):
        return InferenceUnavailable(f"Triton unavailable ({code}): {details}")
    return InferenceError(f"Triton error ({code}): {details}")


def _rpc_error(exc: grpc.RpcError) -> InferenceError:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return _triton_error(code, details)


async def _drain(stream: Any) -> None:
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for _ in stream:
                pass
    except (TimeoutError, grpc.RpcError, InferenceServerException):
        stream.cancel()


class TritonBackend:
    """InferenceBackend for a Triton server at ``grpc://host:port``."""

    def __init__(self, url: str, timeout_s: float = 600.0) -> None:
        self._target = _target(url)
        self._timeout_s = timeout_s
        # gRPC aio channels belong to the event loop that created them; keep one per loop
        # (the API server's loop, a worker's loop), forgotten when the loop goes away.
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, grpc_aio.InferenceServerClient
        ] = weakref.WeakKeyDictionary()
        self._drains: set[asyncio.Task[None]] = set()

    def _client(self) -> grpc_aio.InferenceServerClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = grpc_aio.InferenceServerClient(self._target)
            self._clients[loop] = client
        return client

    async def start(self) -> None:
        # Nothing to load; a server that is down now may be up by the first generation,
        # and generate() reports InferenceUnavailable if not.
        self._client()

    async def close(self) -> None:
        drains = [t for t in self._drains if t.get_loop() is asyncio.get_running_loop()]
        if drains:
            # Give finished streams a moment to end cleanly, then cut them.
            _, pending = await asyncio.wait(drains, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.close()

    async def ready(self) -> bool:
        client = self._client()
        try:
            return bool(
                await client.is_server_ready(client_timeout=READY_TIMEOUT_S)
                and await client.is_model_ready(STATES_MODEL, client_timeout=READY_TIMEOUT_S)
            )
        except (InferenceServerException, grpc.RpcError, OSError):
            return False

    async def model_states(self) -> dict[str, str]:
        """Each catalog model's state on the server: READY, LOADING or COLD."""
        report = await self._models_report()
        return dict(report.get("states", report))

    async def model_load_seconds(self) -> dict[str, float]:
        """Seconds each model took to load on the server, the last time it did."""
        report = await self._models_report()
        return {key: float(value) for key, value in report.get("load_seconds", {}).items()}

    async def _models_report(self) -> dict[str, Any]:
        query = InferInput(STATES_INPUT, [1], "BYTES")
        query.set_data_from_numpy(np.array([b""], dtype=np.object_))
        try:
            result = await self._client().infer(
                STATES_MODEL,
                [query],
                outputs=[InferRequestedOutput(STATES_OUTPUT)],
                client_timeout=READY_TIMEOUT_S,
            )
        except InferenceServerException as exc:
            raise _triton_error(exc.status(), exc.message()) from exc
        except grpc.RpcError as exc:
            raise _rpc_error(exc) from exc
        raw = result.as_numpy(STATES_OUTPUT).reshape(-1)[0]
        report = json.loads(bytes(raw))
        # A server before load times answered the states object alone.
        return report if isinstance(report.get("states"), dict) else {"states": report}

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncIterator[StepProgress | GenerationResult]:
        finished = asyncio.Event()
        inputs = _inputs(request)

        async def outgoing() -> AsyncIterator[dict[str, Any]]:
            yield {"model_name": triton_name(request.model), "inputs": inputs}
            # Keep our half open until the answer is in, so that the stream ends only when the
            # server is done with it.
            await finished.wait()

        try:
            stream = self._client().stream_infer(outgoing(), stream_timeout=self._timeout_s)
        except InferenceServerException as exc:
            raise InferenceUnavailable(f"Triton unavailable: {exc.message()}") from exc
        handed_off = False
        try:
            while True:
                try:
                    result, error = await anext(stream)
                except StopAsyncIteration:
                    raise InferenceUnavailable("Triton closed the stream early") from None
                except grpc.RpcError as exc:
                    raise _rpc_error(exc) from exc
                if error is not None:
                    raise _triton_error(error.status(), error.message())
                try:
                    item = self._parse(result)
                except InferenceError:
                    handed_off = self._hand_off(stream, finished)
                    raise
                if item is None:
                    continue
                if isinstance(item, GenerationResult):
                    handed_off = self._hand_off(stream, finished)
                    yield item
                    return
                yield item
        finally:
            finished.set()
            if not handed_off:
                # Left early: tell the server we are gone. (PyTriton cannot see it, so the
                # batch still finishes on the server; we just stop listening.)
                stream.cancel()

    def _hand_off(self, stream: Any, finished: asyncio.Event) -> bool:
        """Let the server end a stream whose answer is complete, in the background.

        Cancelling instead races the server's final flag, and a cancel that lands then can
        leave the request unreleased in Triton (its model then cannot unload at shutdown).
        Draining in the background keeps the result from waiting for the rest of the
        server-side batch, which ends the stream only when all of it is done.
        """
        finished.set()  # half-close our side
        task = asyncio.create_task(_drain(stream))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)
        return True

    @staticmethod
    def _parse(result: Any) -> StepProgress | GenerationResult | None:
        kind_array = result.as_numpy("kind")
        if kind_array is None:
            return None  # padding for another request of the same Triton batch
        kind = int(kind_array.reshape(-1)[0])
        if kind == KIND_STEP:
            preview = result.as_numpy("preview")
            preview_png = bytes(preview.reshape(-1)[0]) if preview is not None else b""
            return StepProgress(
                step=int(result.as_numpy("step").reshape(-1)[0]),
                total_steps=int(result.as_numpy("total_steps").reshape(-1)[0]),
                preview_png=preview_png or None,
            )
        if kind == KIND_FINAL:
            images = [bytes(png) for png in result.as_numpy("images").reshape(-1)]
            flagged = result.as_numpy("flagged")
            flags = [bool(f) for f in flagged.reshape(-1)] if flagged is not None else []
            return GenerationResult(images=images, flagged=flags)
        if kind == KIND_ERROR:
            message = bytes(result.as_numpy("error").reshape(-1)[0]).decode("utf-8", "replace")
            transient = int(result.as_numpy("error_transient").reshape(-1)[0])
            raise (InferenceUnavailable if transient else InferenceError)(message)
        raise InferenceError(f"unknown response kind {kind} from Triton")
