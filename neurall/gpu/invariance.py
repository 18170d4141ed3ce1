"""Make a diffusers pipeline's output independent of how requests were batched.

A request's image must not depend on which other requests Triton's dynamic batcher happened to
group it with: a user who re-runs a seed expects the same picture. Seeding each image with its
own generator makes the starting noise independent, but that alone is not enough. Measured on
CPU (torch 2.13, MKL + oneDNN, AVX-512) with the tiny pipeline, a sample's UNet output changed
by ~1e-6 with the batch size, enough to flip a few 8-bit pixels, for four reasons:

1. The timestep-embedding path multiplies a (batch, 128) matrix. The rows are identical (one
   timestep for the whole batch) but MKL picks a different small-M GEMM kernel per batch size,
   so the sums come out in a different order. Fix: compute rows one at a time (M=1); normally
   all rows are equal and one is computed and repeated, which is also cheaper.
2. A convolution of minibatch 1 (on a small input) runs PyTorch's own kernel, not oneDNN's
   as from minibatch 2 on (every size >= 2 agreed bit for bit once (1) was fixed). With
   classifier-free guidance the UNet batch is always >= 2; without it, a lone sample is padded
   to two and the copy dropped.
3. The VAE decoder had the same batch-size dependence; decoding one latent at a time (diffusers'
   VAE slicing) makes every decode a minibatch of 1, batched or not.
4. On one thread (OMP_NUM_THREADS=1, as the tests run) PyTorch computes a 1x1, stride-1
   convolution (resnet shortcuts, SD's proj_in/proj_out) with its own per-sample GEMMs while
   the minibatch is under 16 and with oneDNN from 16 on (aten's ``use_mkldnn``: single-threaded,
   native 1x1 is faster); the two differ by up to ~8e-6 per convolution, ~1e-6 at the UNet
   output. Nine images with guidance (a UNet minibatch of 18) no longer matched each alone.
   With two or more threads every minibatch >= 2 goes to oneDNN. Fix: the denoiser's 1x1
   convolutions cut a minibatch >= 16 into chunks of 4 to 8, so the path depends on the thread
   count alone (bit for bit against each sample alone for minibatches 2..64 at 1, 2, 3, 4 and
   8 threads; a few more small calls per such convolution, only for batches >= 16 on CPU).
   LoRA layers added to a 1x1 convolution later are not chunked.

The text encoders, attention, the other GEMMs (M = batch x tokens, FLUX's transformer
included) and the scheduler were already batch-invariant: checked end to end for the three
tiny families with up to 20 images a call, at 1 and 2 threads.

On CUDA the same changes apply but cuBLAS/cuDNN choose kernels by shape too, so byte identity
across different batch compositions is not guaranteed there; identical inputs still give
identical bytes.
"""

from __future__ import annotations

import types
from typing import Any

import torch
import torch.nn.functional as F


def _row_invariant_linear(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 2 or x.shape[0] == 1:
        return F.linear(x, self.weight, self.bias)
    if torch.compiler.is_compiling():
        # Inside torch.compile (neurall.gpu.optimize) the equality test below would break
        # the graph (a data-dependent branch) at every embedding layer; row by row is just
        # as invariant, and a compiled graph of a fixed batch makes the rows cheap.
        return torch.cat([F.linear(x[i : i + 1], self.weight, self.bias) for i in range(len(x))])
    first = x[:1]
    if torch.equal(x, first.expand_as(x)):
        # The usual case: one timestep for the whole batch.
        return F.linear(first, self.weight, self.bias).expand(x.shape[0], -1).contiguous()
    rows = [F.linear(x[i : i + 1], self.weight, self.bias) for i in range(x.shape[0])]
    return torch.cat(rows)


# Per-sample embedding paths ((batch, features) matrices): the UNet's timestep embedding and
# SDXL's added size/text embedding; FLUX's timestep/guidance/pooled-text embedding and the
# AdaLayerNorm projections it feeds (``norm1.linear`` and the like take that embedding).
_EMBEDDING_MODULES = ("time_embedding", "add_embedding", "time_text_embed", "norm_out")


# (4): on one thread PyTorch takes oneDNN for a 1x1 convolution from this minibatch on. Larger
# minibatches are cut into chunks of 4 to 8 (never 1: that is the other special case, (2)).
_NATIVE_POINTWISE_LIMIT = 16
_POINTWISE_CHUNK = 8


def _chunked_pointwise_conv(self: torch.nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4 or x.shape[0] < _NATIVE_POINTWISE_LIMIT or x.device.type != "cpu":
        return self._conv_forward(x, self.weight, self.bias)
    chunks = x.tensor_split(-(-x.shape[0] // _POINTWISE_CHUNK))
    return torch.cat([self._conv_forward(c, self.weight, self.bias) for c in chunks])


def _patch_pointwise_convs(model: torch.nn.Module) -> None:
    for module in model.modules():
        if (
            isinstance(module, torch.nn.Conv2d)
            and module.kernel_size == (1, 1)
            and module.stride == (1, 1)
            and module.dilation == (1, 1)
        ):
            module.forward = types.MethodType(_chunked_pointwise_conv, module)


def _patch_time_embedding(unet: torch.nn.Module) -> None:
    # Instance-level forward overrides keep the module tree and state_dict keys unchanged,
    # so saving the model or attaching LoRA adapters is unaffected.
    linears: list[torch.nn.Module] = []
    for name in _EMBEDDING_MODULES:
        embedding = getattr(unet, name, None)
        if embedding is not None:
            linears += [m for m in embedding.modules() if isinstance(m, torch.nn.Linear)]
    for module in unet.modules():
        norm_linear = getattr(module, "linear", None)
        if module.__class__.__name__.startswith("AdaLayerNorm") and isinstance(
            norm_linear, torch.nn.Linear
        ):
            linears.append(norm_linear)
        proj = getattr(module, "time_emb_proj", None)
        if isinstance(proj, torch.nn.Linear):
            linears.append(proj)
    for linear in linears:
        linear.forward = types.MethodType(_row_invariant_linear, linear)


def _pad_single_sample(
    module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    sample = args[0] if args else kwargs.get("sample", kwargs.get("hidden_states"))
    if not isinstance(sample, torch.Tensor) or sample.shape[0] != 1:
        module._neurall_padded = False  # type: ignore[assignment]
        return None
    module._neurall_padded = True  # type: ignore[assignment]

    def pad(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == 1:
            return torch.cat([value, value])
        return value

    return tuple(pad(a) for a in args), {k: pad(v) for k, v in kwargs.items()}


def _unpad_output(module: torch.nn.Module, args: Any, kwargs: Any, output: Any) -> Any:
    if not getattr(module, "_neurall_padded", False):
        return None
    module._neurall_padded = False  # type: ignore[assignment]
    if isinstance(output, tuple):
        return (output[0][:1], *output[1:])
    output.sample = output.sample[:1]
    return output


def make_batch_invariant(pipe: Any) -> None:
    """Apply the four fixes above to a loaded diffusers pipeline, in place (the denoiser is
    the UNet, or FLUX's transformer: the same hooks fit both)."""
    unet = getattr(pipe, "unet", None)
    if unet is None:
        unet = getattr(pipe, "transformer", None)
    if unet is not None:
        _patch_time_embedding(unet)
        _patch_pointwise_convs(unet)
        unet.register_forward_pre_hook(_pad_single_sample, with_kwargs=True)
        unet.register_forward_hook(_unpad_output, with_kwargs=True)
    # SDXL's second text encoder projects the pooled output, a (batch, features) matrix like
    # the timestep embedding's, with the same batch-size dependence.
    for name in ("text_encoder", "text_encoder_2"):
        projection = getattr(getattr(pipe, name, None), "text_projection", None)
        if isinstance(projection, torch.nn.Linear):
            projection.forward = types.MethodType(_row_invariant_linear, projection)
    vae = getattr(pipe, "vae", None)
    if vae is not None and hasattr(vae, "enable_slicing"):
        vae.enable_slicing()
