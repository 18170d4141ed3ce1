"""The contract's Scheduler names mapped to diffusers schedulers.

Each is built with ``from_config`` from the loaded model's own scheduler config, so the
noise schedule (betas, timestep spacing, prediction type) stays the model's and only the
sampling algorithm changes. DEFAULT is the scheduler the model was saved with. A fresh
scheduler is built per pipeline call: schedulers keep per-run state (their timesteps, the
step index), so one object must not serve two calls.
"""

from __future__ import annotations

from typing import Any

from neurall.gpu.types import SCHEDULERS

# Scheduler name -> (diffusers class name, extra config).
_CLASSES: dict[str, tuple[str, dict[str, Any]]] = {
    "DDIM": ("DDIMScheduler", {}),
    "EULER": ("EulerDiscreteScheduler", {}),
    "EULER_ANCESTRAL": ("EulerAncestralDiscreteScheduler", {}),
    # DPM++ 2M as A1111 and ComfyUI name it: the multistep solver, second order.
    "DPM_PP_2M": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2},
    ),
    "UNIPC": ("UniPCMultistepScheduler", {}),
}
assert set(_CLASSES) | {"DEFAULT"} == set(SCHEDULERS)


def build_scheduler(name: str, default: Any) -> Any:
    """A new scheduler ``name`` configured from ``default`` (the model's own scheduler)."""
    import diffusers

    if name == "DEFAULT":
        return type(default).from_config(default.config)
    class_name, extra = _CLASSES[name]
    return getattr(diffusers, class_name).from_config(default.config, **extra)
