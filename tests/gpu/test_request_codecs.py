"""The request record survives both codecs, every field of it: the JSON one (a playground
job's stored params, an API job's payload) and the Triton one (the gRPC input tensors, as
tritonclient serialises them). Strategies are derived from the record's own fields, so a
field added to the record is generated here too, and a codec that dropped or mangled it
would fail."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tritonclient.utils import deserialize_bytes_tensor, serialize_byte_tensor

from neurall.gpu import codec
from neurall.gpu.protocol import INPUTS, from_tensors, to_tensors
from neurall.gpu.types import (
    INPAINT,
    MODES,
    SCHEDULERS,
    TEXT_TO_IMAGE,
    AdapterWeight,
    GenerationRequest,
)

# Fields whose values the record's own checks constrain; every other field is generated
# from its annotated type.
CONSTRAINED: dict[str, st.SearchStrategy[Any]] = {
    "width": st.integers(1, 512).map(lambda n: n * 8),
    "height": st.integers(1, 512).map(lambda n: n * 8),
    "steps": st.integers(1, 10_000),
    "num_images": st.integers(1, 64),
    "seed": st.integers(0, 2**63 - 1),
    "preview_every": st.integers(0, 10_000),
    "guidance_scale": st.floats(allow_nan=False, allow_infinity=False),
    "mode": st.sampled_from(MODES),
    "scheduler": st.sampled_from(SCHEDULERS),
    "strength": st.none() | st.floats(0.0, 1.0),
    "model": st.text(min_size=1),
}


# Values inside fields follow the records' own checks too.
st.register_type_strategy(
    AdapterWeight,
    st.builds(AdapterWeight, st.text(), st.floats(allow_nan=False, allow_infinity=False)),
)


def _field_strategy(name: str, type_: Any) -> st.SearchStrategy[Any]:
    if name in CONSTRAINED:
        return CONSTRAINED[name]
    if type_ is int:
        return st.integers(-(2**63), 2**63 - 1)  # what an INT64 tensor carries
    return st.from_type(type_)


@st.composite
def _requests(draw: st.DrawFn) -> GenerationRequest:
    values = {name: draw(_field_strategy(name, t)) for name, t in codec.field_types().items()}
    # Input images only where the mode takes them (the record insists).
    if values["mode"] == TEXT_TO_IMAGE:
        values["init_image"] = None
    if values["mode"] != INPAINT:
        values["mask"] = None
    return GenerationRequest(**values)


requests = _requests()


def _over_the_wire(array: np.ndarray) -> np.ndarray:
    """A tensor as tritonclient sends it and the server reads it back."""
    if array.dtype == np.object_:
        return deserialize_bytes_tensor(serialize_byte_tensor(array).item()).reshape(array.shape)
    return np.frombuffer(array.tobytes(), dtype=array.dtype).reshape(array.shape)


@given(requests)
def test_the_json_codec_keeps_every_stored_field(request: GenerationRequest):
    decoded = codec.from_json(codec.to_json(request))
    for field in codec.stored_fields():
        assert getattr(decoded, field.name) == getattr(request, field.name), field.name
    # Run fields describe this server, not the request, and input images are the caller's
    # uploads: neither is ever stored with a job.
    for field in dataclasses.fields(GenerationRequest):
        if field.metadata.get("run") or field.metadata.get("input"):
            assert field.name not in codec.to_json_dict(request)
            assert getattr(decoded, field.name) == field.default


@given(requests)
def test_the_payload_keeps_every_field_but_the_run_ones(request: GenerationRequest):
    decoded = codec.from_json(codec.to_payload(request))
    for field in dataclasses.fields(GenerationRequest):
        expected = field.default if field.metadata.get("run") else getattr(request, field.name)
        assert getattr(decoded, field.name) == expected, field.name


@given(requests)
def test_the_triton_codec_keeps_every_field(request: GenerationRequest):
    tensors = {name: _over_the_wire(array) for name, array in to_tensors(request).items()}
    assert set(tensors) == set(INPUTS) == {f.name for f in dataclasses.fields(request)}
    decoded = from_tensors(tensors)
    for field in dataclasses.fields(GenerationRequest):
        assert getattr(decoded, field.name) == getattr(request, field.name), field.name
        assert type(getattr(decoded, field.name)) is type(getattr(request, field.name))


def test_stored_params_of_earlier_jobs_still_decode():
    """Rows written before the record existed carry exactly the stored fields' names."""
    stored = {
        "prompt": "a lighthouse",
        "negative_prompt": None,
        "width": 64,
        "height": 64,
        "steps": 20,
        "guidance_scale": 7.5,
        "seed": 42,
        "num_images": 1,
        "clone_id": None,
    }
    decoded = codec.to_json_dict(codec.from_json_dict(stored))
    # Fields added since take the record's defaults.
    assert decoded == {
        **stored,
        "adapters": [],
        # Before the catalog, every job ran on the one model: the built-in default's id.
        "model": "tiny-sd",
        "mode": "TEXT_TO_IMAGE",
        "scheduler": "DEFAULT",
        "strength": None,
    }


def test_a_stored_clone_id_is_one_adapter_at_weight_one():
    """``cloneId`` is the shorthand for one adapter, also in rows stored before adapters."""
    stored = {"prompt": "p", "negative_prompt": None, "width": 64, "height": 64, "steps": 2}
    stored |= {"guidance_scale": 7.5, "seed": 1, "num_images": 1, "clone_id": "c1"}
    request = codec.from_json_dict(stored)
    assert request.adapters == (AdapterWeight("c1", 1.0),)


def test_the_graphql_input_carries_exactly_the_records_stored_fields():
    """GraphQL converts its input to the record by field name, so the two must agree: a
    field added to one and not the other fails here, not silently at run time. Derived
    fields (the mode) are set by validation, not sent; the job's own fields (its priority)
    are not the record's."""
    from neurall.graphql.generation.inputs import JOB_FIELDS, GenerateInput

    sent = {f.name for f in dataclasses.fields(GenerateInput)} - JOB_FIELDS
    assert sent == {f.name for f in codec.payload_fields() if not f.metadata.get("derived")}
