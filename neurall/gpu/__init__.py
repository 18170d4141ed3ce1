"""Inference: the diffusers pipeline, the built-in tiny model, and the backends serving it.

Import the submodules directly; importing this package loads nothing heavy (no torch), so the
API server can use ``neurall.gpu.types`` and ``neurall.gpu.backend`` cheaply.
"""
