"""The wire format of the "neurall_txt2img" Triton model, shared by server and client.

Every tensor has a leading batch dimension of 1 per request (Triton's dynamic batcher adds it).
One stream response per denoising step (KIND_STEP), then one KIND_FINAL with the PNGs, or one
KIND_ERROR. A response with no ``kind`` output is padding (see triton_server) and is skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MODEL_NAME = "neurall_txt2img"

KIND_STEP = 0
KIND_FINAL = 1
KIND_ERROR = 2

# name -> (numpy dtype, Triton datatype, shape without the batch dimension)
INPUTS: dict[str, tuple[type, str, tuple[int, ...]]] = {
    "prompt": (np.bytes_, "BYTES", (1,)),
    "negative_prompt": (np.bytes_, "BYTES", (1,)),
    "width": (np.int32, "INT32", (1,)),
    "height": (np.int32, "INT32", (1,)),
    "steps": (np.int32, "INT32", (1,)),
    # float64, not float32: 7.3 must reach the pipeline as the same double the embedded
    # backend would use, or the images differ.
    "guidance_scale": (np.float64, "FP64", (1,)),
    "seed": (np.int64, "INT64", (1,)),
    "num_images": (np.int32, "INT32", (1,)),
    "adapter_path": (np.bytes_, "BYTES", (1,)),
    "preview_every": (np.int32, "INT32", (1,)),
}

OUTPUTS: dict[str, tuple[type, str, tuple[int, ...]]] = {
    "kind": (np.int32, "INT32", (1,)),
    "step": (np.int32, "INT32", (1,)),
    "total_steps": (np.int32, "INT32", (1,)),
    "preview": (np.bytes_, "BYTES", (1,)),  # empty when no preview was due
    "images": (np.bytes_, "BYTES", (-1,)),  # PNGs, one per image
    "error": (np.bytes_, "BYTES", (1,)),
    "error_transient": (np.int32, "INT32", (1,)),  # 1: retrying may succeed
}


def first_value(array: Any) -> Any:
    """The scalar of a (1, 1) or (1,) input tensor."""
    return np.asarray(array).reshape(-1)[0]


def as_bytes(array: Any) -> bytes:
    value = first_value(array)
    return bytes(value) if not isinstance(value, str) else value.encode("utf-8")
