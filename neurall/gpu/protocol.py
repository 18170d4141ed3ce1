"""The wire format of the Triton models of `neurall gpu`, shared by server and client.

Each catalog entry is one Triton model, named ``triton_name(model_id)`` ("neurall_" and the
id), all with this format. The model STATES_MODEL ("neurall_models") answers any request
with the JSON object {"states": {model id: "READY" | "LOADING" | "COLD"}, "load_seconds":
{model id: seconds its last load took}} (servers before load times answered the "states"
object alone); it is bound last, so its readiness means the server serves every model (the
preloaded ones loaded).

Every tensor has a leading batch dimension of 1 per request (Triton's dynamic batcher adds it).
One stream response per denoising step (KIND_STEP), then one KIND_FINAL with the PNGs and the
safety checker's flags (one each per requested image; an empty PNG is one the checker
withheld), or one KIND_ERROR. A response with no ``kind`` output is padding (see
triton_server) and is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurall.gpu.codec import decode_value, encode_value, field_types
from neurall.gpu.types import GenerationRequest

STATES_MODEL = "neurall_models"
# STATES_MODEL's tensors (no batch dimension): any "query" (ignored), one JSON "states".
STATES_INPUT = "query"
STATES_OUTPUT = "states"

KIND_STEP = 0
KIND_FINAL = 1
KIND_ERROR = 2

# name -> (numpy dtype, Triton datatype, shape without the batch dimension)
TensorSpec = tuple[type, str, tuple[int, ...]]

# The inputs are the request record's fields, every one of them, typed by annotation: ints
# as INT64, floats as FP64 (7.3 must reach the pipeline as the same double the embedded
# backend would use, or the images differ), strings as UTF-8, bytes (input images) as they
# are, and anything else (optional values, tuples) as the JSON codec's encoding of the value.
_SCALARS: dict[Any, TensorSpec] = {
    int: (np.int64, "INT64", (1,)),
    float: (np.float64, "FP64", (1,)),
    str: (np.bytes_, "BYTES", (1,)),
}
# Bytes (and optional bytes) travel as raw BYTES elements, without base64's third more: a
# value is framed by one byte each side, so None (an empty element) and b"" stay apart and a
# value ending in NUL survives numpy's fixed-width bytes arrays, which strip trailing NULs.
RAW_INPUTS = frozenset(n for n, t in field_types().items() if t in (bytes, bytes | None))
JSON_INPUTS = frozenset(
    n for n, t in field_types().items() if t not in _SCALARS and n not in RAW_INPUTS
)
INPUTS: dict[str, TensorSpec] = {
    name: _SCALARS.get(type_, _SCALARS[str]) for name, type_ in field_types().items()
}
_FRAME = b"\x01"

OUTPUTS: dict[str, tuple[type, str, tuple[int, ...]]] = {
    "kind": (np.int32, "INT32", (1,)),
    "step": (np.int32, "INT32", (1,)),
    "total_steps": (np.int32, "INT32", (1,)),
    "preview": (np.bytes_, "BYTES", (1,)),  # empty when no preview was due
    "images": (np.bytes_, "BYTES", (-1,)),  # PNGs, one per image (empty: withheld)
    "flagged": (np.int32, "INT32", (-1,)),  # per image: 1 when the safety checker flagged it
    "error": (np.bytes_, "BYTES", (1,)),
    "error_transient": (np.int32, "INT32", (1,)),  # 1: retrying may succeed
}


def first_value(array: Any) -> Any:
    """The scalar of a (1, 1) or (1,) input tensor."""
    return np.asarray(array).reshape(-1)[0]


def as_bytes(array: Any) -> bytes:
    value = first_value(array)
    return bytes(value) if not isinstance(value, str) else value.encode("utf-8")


def to_tensors(request: GenerationRequest) -> dict[str, np.ndarray]:
    """The request as (1, 1) input arrays, one per field."""
    tensors = {}
    for name, (dtype, datatype, _shape) in INPUTS.items():
        value = getattr(request, name)
        if name in RAW_INPUTS:
            raw = b"" if value is None else _FRAME + value + _FRAME
            tensors[name] = np.array([[raw]], dtype=np.object_)
        elif datatype == "BYTES":
            text = json.dumps(encode_value(value)) if name in JSON_INPUTS else value
            tensors[name] = np.array([[text.encode("utf-8")]], dtype=np.object_)
        else:
            tensors[name] = np.array([[value]], dtype=dtype)
    return tensors


def from_tensors(inputs: Mapping[str, Any]) -> GenerationRequest:
    """The request one client sent (its rows of a batch: (1,) or (1, 1) arrays)."""
    hints = field_types()
    values = {}
    for name, (_dtype, datatype, _shape) in INPUTS.items():
        if name in RAW_INPUTS:
            raw = as_bytes(inputs[name])
            values[name] = raw[1:-1] if raw else None
        elif datatype != "BYTES":
            values[name] = hints[name](first_value(inputs[name]))
        elif name in JSON_INPUTS:
            values[name] = decode_value(hints[name], json.loads(as_bytes(inputs[name])))
        else:
            values[name] = as_bytes(inputs[name]).decode("utf-8")
    return GenerationRequest(**values)
