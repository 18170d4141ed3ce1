"""LoRA adapters ("clones") applied to the UNet per request, with a small LRU cache.

Requests name an adapter by its key in the store; ``AdapterFiles`` (neurall.gpu.adapter_files)
turns the key into a local file, fetched from the store when it is remote.

The training side saves an adapter as ``save_file(get_peft_model_state_dict(unet), path,
metadata=...)``. The rank and target modules are read from the tensors themselves; the LoRA
scale (``lora_alpha / r``) is not in the tensors, so it comes from the safetensors metadata:
either diffusers' ``"lora_adapter_metadata"`` (a JSON LoraConfig dict) or a plain
``"lora_alpha"`` entry. Without either, ``lora_alpha = r`` (scale 1) is assumed; trainers that
use another alpha must write it. Training also records the model family it trained on
(``"family"``) and the catalog id of its base model (``"base_model"``); an adapter of another
family than the pipeline's is refused with both named (its layers could otherwise half-fit,
or fail with a shape error). Files without the entry (older ones) are tried as before.

A request may blend several adapters, each at its weight: they are activated together with
``set_adapters(names, weights)``, which scales each LoRA's contribution (diffusers' multi-LoRA
mixing). Loaded adapters stay attached to the UNet (PEFT keeps each under its own name), so
switching between cached clones or weights costs nothing; the least recently used one outside
the active set is deleted when the cache is full. Not thread-safe: the caller (Pipeline)
holds its lock.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

from neurall.gpu.adapter_files import AdapterFiles
from neurall.gpu.types import MAX_ADAPTERS, InferenceError

logger = logging.getLogger(__name__)

# Metadata keys the trainer writes (neurall.gpu.training).
FAMILY_KEY = "family"
BASE_MODEL_KEY = "base_model"

_PREFIXES = ("base_model.model.", "unet.")
_LORA_A_SUFFIX = ".lora_A.weight"


def _normalise_keys(state: dict[str, Any]) -> dict[str, Any]:
    # Adapters saved through a PeftModel or diffusers' save_lora_weights carry a prefix.
    out = {}
    for key, tensor in state.items():
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = tensor
    return out


def _lora_config(state: dict[str, Any], metadata: dict[str, str]) -> Any:
    from peft import LoraConfig

    modules = sorted(k[: -len(_LORA_A_SUFFIX)] for k in state if k.endswith(_LORA_A_SUFFIX))
    if not modules:
        raise InferenceError("adapter file holds no LoRA weights")
    ranks = {int(state[m + _LORA_A_SUFFIX].shape[0]) for m in modules}
    if len(ranks) != 1:
        raise InferenceError("adapters with per-module ranks are not supported")
    rank = ranks.pop()
    alpha: float = rank
    if "lora_adapter_metadata" in metadata:
        saved = json.loads(metadata["lora_adapter_metadata"])
        alpha = float(saved.get("lora_alpha", rank))
    elif "lora_alpha" in metadata:
        alpha = float(metadata["lora_alpha"])
    # Full module paths as targets attach LoRA exactly where the trainer had it.
    return LoraConfig(r=rank, lora_alpha=alpha, target_modules=modules, init_lora_weights=False)


# What is active on the UNet: (PEFT adapter name, weight) pairs; empty for the base model.
_ActiveSet = tuple[tuple[str, float], ...]


class AdapterCache:
    """Activates a weighted set of adapters on ``unet`` (any denoiser: FLUX's transformer
    too); keeps ``capacity`` of them loaded (more while one set needs more: a set's own
    adapters are never evicted for each other). ``family``: the model's, which an adapter's
    recorded family must match (None: not checked)."""

    def __init__(
        self,
        unet: Any,
        capacity: int = 4,
        files: AdapterFiles | None = None,
        *,
        family: str | None = None,
    ) -> None:
        self._unet = unet
        self._family = family
        self._files = files
        self._capacity = max(1, capacity)
        # (resolved path, mtime_ns, size) -> PEFT adapter name; a retrained clone that
        # overwrites its file gets a new key, so a stale adapter is never served.
        self._loaded: OrderedDict[tuple[str, int, int], str] = OrderedDict()
        self._counter = 0
        # None: unknown (an adapter of the active set was deleted), so the next activation
        # sets everything again.
        self._active: _ActiveSet | None = ()

    def activate(self, adapters: tuple[tuple[str, float], ...]) -> None:
        """Blend ``adapters`` ((store key, weight) pairs) into the UNet; none: the base."""
        if not adapters:
            if self._active != ():
                self._unet.disable_adapters()
                self._active = ()
            return
        if len(adapters) > MAX_ADAPTERS:
            raise InferenceError(f"at most {MAX_ADAPTERS} adapters at once")
        if self._files is None:
            raise InferenceError("this inference server was given no adapter store")
        names: list[str] = []
        for key, _weight in adapters:
            names.append(self._get_or_load(self._files.local_path(key), keep=names))
        wanted = tuple(zip(names, (float(w) for _, w in adapters), strict=True))
        if wanted != self._active:
            self._unet.set_adapters([n for n, _ in wanted], weights=[w for _, w in wanted])
            self._unet.enable_adapters()
            self._active = wanted

    def _get_or_load(self, local_path: Path, keep: list[str]) -> str:
        """The adapter's PEFT name, loading it if needed; never evicts one in ``keep``."""
        path = local_path.resolve()
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise InferenceError(f"adapter not found: {path.name}") from exc
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in self._loaded:
            self._loaded.move_to_end(key)
            return self._loaded[key]
        name = self._load(path)
        self._loaded[key] = name
        for old_key, evicted in list(self._loaded.items()):
            if len(self._loaded) <= self._capacity:
                break
            if evicted in keep or evicted == name:
                continue
            del self._loaded[old_key]
            if any(evicted == n for n, _ in self._active or ()):
                self._active = None
            self._unet.delete_adapters(evicted)
        return name

    def _load(self, path: Path) -> str:
        from peft import set_peft_model_state_dict
        from safetensors import safe_open
        from safetensors.torch import load_file

        try:
            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata() or {}
            state = _normalise_keys(load_file(str(path), device=str(self._unet.device)))
        except Exception as exc:  # safetensors raises its own error types
            raise InferenceError(f"unreadable adapter file: {path.name}") from exc
        self._check_family(path, metadata)
        config = _lora_config(state, metadata)
        self._counter += 1
        name = f"clone{self._counter}"
        try:
            with warnings.catch_warnings():
                # PEFT warns when a model gets a second adapter; several is the point here.
                warnings.filterwarnings("ignore", message=".*multiple adapters.*")
                self._unet.add_adapter(config, adapter_name=name)
            result = set_peft_model_state_dict(self._unet, state, adapter_name=name)
        except (ValueError, RuntimeError, KeyError) as exc:
            self._safe_delete(name)
            raise InferenceError(f"adapter does not fit this model: {path.name}") from exc
        unexpected = [k for k in getattr(result, "unexpected_keys", []) if "lora_" in k]
        if unexpected:
            self._safe_delete(name)
            raise InferenceError(f"adapter does not fit this model: {path.name}")
        logger.info("loaded LoRA adapter %s as %s (rank %d)", path.name, name, config.r)
        return name

    def _check_family(self, path: Path, metadata: dict[str, str]) -> None:
        trained_on = metadata.get(FAMILY_KEY)
        if self._family is None or trained_on is None or trained_on == str(self._family):
            return
        base = metadata.get(BASE_MODEL_KEY)
        raise InferenceError(
            f"adapter {path.name} was trained on a {trained_on} model"
            f"{f' ({base})' if base else ''} and cannot be used with this {self._family} model"
        )

    def _safe_delete(self, name: str) -> None:
        try:
            self._unet.delete_adapters(name)
        except (ValueError, KeyError, AttributeError):
            logger.debug("adapter %s was not attached", name)
        if any(name == n for n, _ in self._active or ()):
            self._active = None
