"""HTTP and graphql-transport-ws for the generated client: the API key on every request,
GraphQL multipart uploads, bounded retries, and the server's failures as NeurallErrors.

Retries never make a request happen twice: a request is sent again after a timeout, a
dropped connection or HTTP 503 only when the caller marked it ``idempotent`` (queries,
``cancelJob``, and ``generate``, which always carries an idempotency key, so the server
answers a repeat with the job the first one made). Any request is sent again after a
connection that never opened or HTTP 429 (the server did nothing with it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from enum import Enum
from typing import IO, Any, Union, cast
from uuid import uuid4

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from neurall_client._retry import RetryPolicy, parse_retry_after
from neurall_client.errors import (
    AuthenticationError,
    NetworkError,
    NeurallError,
    NotFoundError,
    PermissionError,
    RateLimitedError,
    ServiceUnavailableError,
)

PROTOCOL = "graphql-transport-ws"
USER_AGENT = "neurall-client/0.1.0"
ACK_TIMEOUT_S = 10.0
# Statuses that say the server did not do the request (429), or may not have (503).
RETRY_STATUSES = (429, 503)

FileTuple = tuple[str, bytes, str]


class AsyncTransport:
    """What the generated client's methods call: ``execute`` and ``get_data`` for queries
    and mutations, ``execute_ws`` for subscriptions."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        base = url.rstrip("/")
        if base.endswith("/graphql"):
            base = base[: -len("/graphql")]
        self.base_url = base
        self.url = f"{base}/graphql"
        self.ws_url = "ws" + self.url[len("http") :] if self.url.startswith("http") else self.url
        self.retry = retry or RetryPolicy()
        self._api_key = api_key
        self.http = http_client or httpx.AsyncClient(
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        )

    def __repr__(self) -> str:
        # Never the key.
        return f"{type(self).__name__}({self.base_url!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -------------------------------------------------------------- HTTP requests

    async def execute(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST the operation (multipart when a variable holds an Upload), retried as the
        module docstring says; ``idempotent=True`` in kwargs allows retrying after a
        timeout or a 503."""
        idempotent = bool(kwargs.pop("idempotent", False))
        plain, files, files_map = _split_files(_jsonable(variables or {}))
        body = {"query": query, "operationName": operation_name, "variables": plain}
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = await self._post(body, files, files_map)
            except httpx.ConnectError as exc:
                # The connection never opened: the server saw nothing.
                failure: NeurallError = NetworkError(f"Could not connect to {self.url}: {exc}")
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = NetworkError(f"No answer from {self.url}: {exc!r}")
                if not idempotent:
                    raise failure from exc
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                failure = _status_error(response, retry_after)
                if response.status_code == 503 and not idempotent:
                    raise failure
            delay = self.retry.delay(attempt, retry_after)
            if delay is None:
                raise failure
            attempt += 1
            await asyncio.sleep(delay)

    async def _post(
        self, body: dict[str, Any], files: dict[str, FileTuple], files_map: dict[str, list[str]]
    ) -> httpx.Response:
        if not files:
            return await self.http.post(self.url, json=body)
        data = {"operations": json.dumps(body), "map": json.dumps(files_map)}
        return await self.http.post(self.url, data=data, files=files)

    def get_data(self, response: httpx.Response) -> dict[str, Any]:
        """The response's ``data``; HTTP failures and GraphQL errors raised as
        NeurallErrors."""
        if response.status_code >= 400:
            raise _status_error(response, parse_retry_after(response.headers.get("Retry-After")))
        try:
            payload = response.json()
        except ValueError as exc:
            raise NeurallError(f"Not a GraphQL response (HTTP {response.status_code}).") from exc
        if payload.get("errors"):
            raise _graphql_error(payload["errors"])
        return cast(dict[str, Any], payload["data"])

    # ------------------------------------------------------------- subscriptions

    async def execute_ws(
        self,
        query: str,
        operation_name: str | None = None,
        variables: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """One subscription on a socket of its own: each ``next`` payload's data, until
        ``complete``. A socket that drops raises websockets' ConnectionClosed (or an
        OSError); resuming is the caller's business, since only it knows where to resume."""
        operation_id = uuid4().hex
        async with websockets.connect(
            self.ws_url,
            subprotocols=[websockets.Subprotocol(PROTOCOL)],
            user_agent_header=USER_AGENT,
            open_timeout=ACK_TIMEOUT_S,
        ) as socket:
            init = {"authorization": f"Bearer {self._api_key}"}
            await socket.send(json.dumps({"type": "connection_init", "payload": init}))
            try:
                await asyncio.wait_for(_until_ack(socket), ACK_TIMEOUT_S)
            except ConnectionClosed as exc:
                raise _closed_error(exc) from exc
            payload = {
                "query": query,
                "operationName": operation_name,
                "variables": _jsonable(variables or {}),
            }
            message = {"id": operation_id, "type": "subscribe", "payload": payload}
            await socket.send(json.dumps(message))
            try:
                async for raw in socket:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        await socket.send(json.dumps({"type": "pong"}))
                    elif kind == "next":
                        result = message.get("payload") or {}
                        if result.get("errors"):
                            raise _graphql_error(result["errors"])
                        yield cast(dict[str, Any], result.get("data") or {})
                    elif kind == "error":
                        raise _graphql_error(message.get("payload") or [])
                    elif kind == "complete":
                        return
            except ConnectionClosed as exc:
                raise _closed_error(exc) from exc


async def _until_ack(socket: Any) -> None:
    async for raw in socket:
        message = json.loads(raw)
        if message.get("type") == "connection_ack":
            return
        if message.get("type") == "ping":
            await socket.send(json.dumps({"type": "pong"}))


def _closed_error(exc: ConnectionClosed) -> Exception:
    """A close the server chose means a refusal (4403: a bad key; 44xx: a protocol
    refusal); anything else is a dropped socket, re-raised for the caller to resume."""
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code == 4403:
        return AuthenticationError("The API key was refused.")
    if code is not None and 4400 <= code < 4500:
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        return NeurallError(f"The server closed the subscription ({code} {reason}).")
    return exc


def _status_error(response: httpx.Response, retry_after: float | None) -> NeurallError:
    message = _error_message(response)
    status = response.status_code
    if status == 503:
        return ServiceUnavailableError(message, retry_after)
    if status == 429:
        return RateLimitedError(message, retry_after)
    if status == 401:
        return AuthenticationError(message)
    if status == 403:
        return PermissionError(message)
    if status == 404:
        return NotFoundError(message)
    return NeurallError(f"HTTP {status}: {message}")


def _error_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))
        if "error" in payload:
            return str(payload["error"])
    return response.reason_phrase


def _graphql_error(errors: Any) -> NeurallError:
    """GraphQL's ``errors`` list (not a UserError: a parse error, an outage, a masked bug)."""
    first = errors[0] if isinstance(errors, list) and errors else {}
    message = str(first.get("message", "GraphQL error")) if isinstance(first, dict) else str(first)
    extensions = first.get("extensions") or {} if isinstance(first, dict) else {}
    if extensions.get("code") == "SERVICE_UNAVAILABLE":
        return ServiceUnavailableError(message, extensions.get("retryAfterSeconds"))
    if message == "Not found.":
        return NotFoundError(message)
    return NeurallError(message, code=extensions.get("code"))


def _jsonable(value: Any) -> Any:
    """Variables as JSON values; pydantic models (the generated inputs) by their GraphQL
    names, leaving out fields never set; Uploads kept for ``_split_files``."""
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return _jsonable(dump(by_alias=True, exclude_unset=True))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if not _is_unset(v)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "UnsetType"


def _split_files(
    variables: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, FileTuple], dict[str, list[str]]]:
    """The GraphQL multipart request spec: each Upload becomes null in the variables, a
    numbered file part, and a ``map`` entry naming its variable path. The bytes are read
    once here, so a retry sends the same file again."""
    files: dict[str, FileTuple] = {}
    files_map: dict[str, list[str]] = {}

    def walk(path: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(f"{path}.{k}", v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(f"{path}.{i}", v) for i, v in enumerate(value)]
        if _is_upload(value):
            key = str(len(files))
            content = cast(Union[IO[bytes], bytes], value.content)
            data = content if isinstance(content, bytes) else _read(content)
            files[key] = (value.filename, data, value.content_type)
            files_map[key] = [path]
            return None
        return value

    plain = cast(dict[str, Any], walk("variables", variables))
    return plain, files, files_map


def _is_upload(value: Any) -> bool:
    return type(value).__name__ == "Upload" and hasattr(value, "content_type")


def _read(stream: IO[bytes]) -> bytes:
    if stream.seekable():
        stream.seek(0)
    return stream.read()
