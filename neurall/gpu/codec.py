"""The JSON codec of the generation request record: a playground job's stored ``params``
and an API job's payload are this, derived from the record's fields.

Run fields (``RUN_FIELD``: where this deployment keeps a clone's weights, the preview
cadence) are left out: they describe the server, not the request. Input fields
(``INPUT_FIELD``: uploaded images) are left out of the stored parameters, which a playground
job keeps as history; the payload (``to_payload``), which waits for the worker in the
ephemeral payload store and goes when the job ends, carries them. Values map to JSON by
their annotated type, so a new field needs no change here (tests/gpu/test_request_codecs.py
round-trips random records through this codec and the Triton one).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any

from neurall.gpu.types import GenerationRequest


@cache
def field_types() -> dict[str, Any]:
    """Each field's annotated type, resolved (the record uses postponed annotations)."""
    return typing.get_type_hints(GenerationRequest)


def stored_fields() -> list[dataclasses.Field[Any]]:
    """The fields kept as a playground job's parameters (history)."""
    return [
        f
        for f in dataclasses.fields(GenerationRequest)
        if not f.metadata.get("run") and not f.metadata.get("input")
    ]


def payload_fields() -> list[dataclasses.Field[Any]]:
    """The fields of the request as it waits for its worker: the stored ones and the inputs."""
    return [f for f in dataclasses.fields(GenerationRequest) if not f.metadata.get("run")]


def encode_value(value: Any) -> Any:
    """A field value as JSON data."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [encode_value(item) for item in value]
    return value


def decode_value(type_: Any, data: Any) -> Any:
    """The inverse of ``encode_value`` for a value annotated ``type_``."""
    if data is None:
        return None
    origin = typing.get_origin(type_)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [t for t in typing.get_args(type_) if t is not type(None)]
        return decode_value(inner, data)
    if origin is tuple:
        item_type = typing.get_args(type_)[0]
        return tuple(decode_value(item_type, item) for item in data)
    if type_ is bytes:
        return base64.b64decode(data)
    if dataclasses.is_dataclass(type_):
        hints = typing.get_type_hints(type_)
        return type_(**{k: decode_value(hints[k], v) for k, v in data.items()})
    if type_ is float:
        return float(data)  # JSON writes 7.0 as 7.0, but a hand-written 7 must stay a float
    return data


def to_json_dict(
    request: GenerationRequest, fields: list[dataclasses.Field[Any]] | None = None
) -> dict[str, Any]:
    """The stored parameters (``fields``: which fields, the stored ones by default)."""
    chosen = stored_fields() if fields is None else fields
    return {f.name: encode_value(getattr(request, f.name)) for f in chosen}


def from_json_dict(data: dict[str, Any]) -> GenerationRequest:
    hints = field_types()
    # A field missing from older stored data (or an input field, absent from stored
    # parameters) takes the record's default.
    return GenerationRequest(
        **{
            f.name: decode_value(hints[f.name], data[f.name])
            for f in payload_fields()
            if f.name in data
        }
    )


def to_json(request: GenerationRequest) -> bytes:
    """The stored parameters as JSON bytes."""
    return json.dumps(to_json_dict(request)).encode()


def to_payload(request: GenerationRequest) -> bytes:
    """The whole request (input images included) for the ephemeral payload store."""
    return json.dumps(to_json_dict(request, payload_fields())).encode()


def from_json(raw: bytes) -> GenerationRequest:
    """Either form (stored parameters or payload) back to the record."""
    return from_json_dict(json.loads(raw))
