"""The optimized pipeline's settings and its shape buckets (neurall.gpu.optimize), on a toy
denoiser: calls padded up to a warmed-up batch give each row what an eager call gives it,
other shapes run eagerly, and a call with adapters runs unfused and eagerly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from neurall.gpu.catalog import CatalogError, load_catalog
from neurall.gpu.optimization import AUTO, OFF, ON, Optimization, chooser, enabled, parse_batches
from neurall.gpu.optimize import apply


class _Denoiser(torch.nn.Module):
    """Row-independent like a real denoiser; counts fusion and returns (sample,)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)
        self.fused = 0

    def forward(self, sample: torch.Tensor, timestep: Any, context: torch.Tensor) -> Any:
        return (self.proj(sample) + context.mean(dim=1, keepdim=True) + timestep,)

    def fuse_qkv_projections(self) -> None:
        self.fused += 1

    def unfuse_qkv_projections(self) -> None:
        self.fused -= 1


def _inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(batch)
    return torch.randn(batch, 4), torch.tensor(3.0), torch.randn(batch, 4)


def _optimized(batches: tuple[int, ...]) -> tuple[_Denoiser, Any]:
    denoiser = _Denoiser()
    options = Optimization(batches=batches, backend="none", channels_last=False)
    optimized = apply(object(), denoiser, options)
    with optimized.warming(), torch.no_grad():
        for batch in batches:
            denoiser(*_inputs(batch))
    return denoiser, optimized


def test_settings() -> None:
    assert not enabled(OFF, "cuda")
    assert not enabled(AUTO, "cpu")
    assert enabled(AUTO, "cuda:0")
    assert enabled(ON, "cpu")
    # A catalog entry's own choice wins either way.
    assert enabled(OFF, "cpu", entry=True)
    assert not enabled(ON, "cuda", entry=False)
    with pytest.raises(ValueError, match="one of"):
        enabled("fast", "cuda")
    assert parse_batches("1, 2,8") == (1, 2, 8)
    assert Optimization(batches=(4, 1, 4)).batches == (1, 4)
    choose = chooser(AUTO, "cpu", batches=(2,))
    from neurall.gpu.catalog import builtin_catalog

    tiny = builtin_catalog()
    assert choose(tiny.default) is None
    assert chooser(ON, "cpu", batches=(2,))(tiny.default) == Optimization(batches=(2,))


def test_padded_calls_match_eager_rows() -> None:
    denoiser, optimized = _optimized((2, 4))
    gate = optimized.gate
    assert gate is not None
    assert optimized.fused
    assert denoiser.fused == 1
    eager = _Denoiser()
    eager.load_state_dict(denoiser.state_dict())
    with torch.no_grad():
        for batch in (1, 3):  # padded up to 2 and to 4
            before = gate.compiled_calls
            out = denoiser(*_inputs(batch))[0]
            assert out.shape[0] == batch
            assert torch.allclose(out, eager(*_inputs(batch))[0])
            assert gate.compiled_calls == before + 1
        # Past the largest bucket, or another shape: eager.
        denoiser(*_inputs(5))
        denoiser(torch.randn(2, 4), torch.tensor(1.0), torch.randn(2, 6))
    assert gate.eager_calls == 2


def test_a_call_with_adapters_runs_unfused_and_eager() -> None:
    denoiser, optimized = _optimized((2,))
    gate = optimized.gate
    assert gate is not None
    with optimized.call(adapters=False), torch.no_grad():
        denoiser(*_inputs(2))
    assert gate.eager_calls == 0
    # Attaching an adapter wraps the projections in LoRA layers for good (diffusers marks it).
    denoiser._hf_peft_config_loaded = True  # type: ignore[attr-defined]
    with optimized.call(adapters=True), torch.no_grad():
        assert denoiser.fused == 0
        denoiser(*_inputs(2))
    assert denoiser.fused == 1
    with optimized.call(adapters=False), torch.no_grad():
        denoiser(*_inputs(2))
    assert gate.eager_calls == 2


def test_catalog_fields(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    entry = '[[model]]\nid = "m"\nfamily = "SDXL"\nsource = "x"\n'
    path.write_text(entry + "optimize = true\nwarmup_sizes = [[1024, 1024], [832, 1216]]\n")
    spec = load_catalog(path).default
    assert spec.optimize is True
    assert spec.warmup_sizes == ((1024, 1024), (832, 1216))
    path.write_text(entry)
    assert load_catalog(path).default.optimize is None
    path.write_text(entry + "warmup_sizes = [[1024, 1020]]\n")
    with pytest.raises(CatalogError, match="warmup_sizes"):
        load_catalog(path)
