"""The Python environment Triton's Python backend stub runs on (``neurall gpu --stub-python``,
NEURALL_TRITON_STUB_PYTHON)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def stub_python_env(environment: str) -> Iterator[None]:
    """Run the Triton Python backend stubs started inside this block on the Python
    environment (a venv's folder) ``environment``; empty: this process's own, as PyTriton
    does.

    PyTriton 0.7's stub dies on numpy 2 decoding a request's string tensor ("unpack_from
    requires a buffer of at least ... bytes", reproduced here with numpy 2.3), while a GPU
    image's torch and transformers may need numpy 2. The stub only moves tensors between
    Triton and this process (PyTriton's own buffer format, no pickles), so it can run a
    numpy 1.26 of its own. The stub ignores PYTHONPATH and takes its environment from the
    first ``python`` on PATH, which PyTriton sets to its own interpreter's folder through
    ``get_triton_python_backend_python_env``; that function is replaced while Triton starts.
    """
    if not environment:
        yield
        return
    from pytriton.server import triton_server as pytriton_server

    original = pytriton_server.get_triton_python_backend_python_env
    pytriton_server.get_triton_python_backend_python_env = lambda: Path(environment)
    try:
        yield
    finally:
        pytriton_server.get_triton_python_backend_python_env = original
