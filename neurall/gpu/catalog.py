"""The model catalog: which models this deployment serves, how each is built and priced.

A TOML file (``NEURALL_MODELS_FILE``) lists the models, one ``[[model]]`` table each::

    [[model]]
    id = "sdxl-base"
    name = "SDXL base 1.0"
    family = "SDXL"
    source = "stabilityai/stable-diffusion-xl-base-1.0"   # a hub id or a local path
    native_size = 1024          # or native_width / native_height
    max_size = 1536             # or max_width / max_height
    default_steps = 30
    max_steps = 80
    credits_per_image = 4       # at the native size and default steps, STANDARD
    default = true

Everything else has a default (see ``ModelSpec``). Without a file, the catalog is the three
built-in tiny models, one per family, with random weights built locally (neurall.gpu.tiny).
A bad file raises ``CatalogError`` naming the entry and the field, so the process stops at
start with that message.

Plain data: nothing here imports torch or diffusers, so every layer can read the catalog.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from neurall.gpu.types import MODES, SCHEDULERS, TINY_MODEL


class ModelFamily(StrEnum):
    """How a model's pipeline is built (the contract's ModelFamily)."""

    SD1 = "SD1"
    SDXL = "SDXL"
    FLUX = "FLUX"


# What each family's diffusers pipelines can do. FLUX is flow matching: only its own
# scheduler works, and its pipelines take no negative prompt.
FAMILY_MODES: dict[ModelFamily, tuple[str, ...]] = {
    ModelFamily.SD1: MODES,
    ModelFamily.SDXL: MODES,
    ModelFamily.FLUX: MODES,
}
FAMILY_SCHEDULERS: dict[ModelFamily, tuple[str, ...]] = {
    ModelFamily.SD1: SCHEDULERS,
    ModelFamily.SDXL: SCHEDULERS,
    ModelFamily.FLUX: ("DEFAULT",),
}

# Image sides are multiples of this: 8 pixels per latent everywhere, and FLUX packs 2x2
# latents into one token of its transformer (diffusers would round other sizes down).
FAMILY_SIZE_MULTIPLE: dict[ModelFamily, int] = {
    ModelFamily.SD1: 8,
    ModelFamily.SDXL: 8,
    ModelFamily.FLUX: 16,
}

# A source naming a model built here instead of loaded: "builtin:tiny-sd" and so on.
BUILTIN_PREFIX = "builtin:"
BUILTIN_SOURCES = {
    "builtin:tiny-sd": ModelFamily.SD1,
    "builtin:tiny-sdxl": ModelFamily.SDXL,
    "builtin:tiny-flux": ModelFamily.FLUX,
}
# Ids travel in URLs, Triton model names and log lines: keep them plain.
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
MIN_SIDE = 64
# The part of the standard price a BATCH image costs when an entry does not say.
DEFAULT_BATCH_PERCENT = 50


def triton_name(model_id: str) -> str:
    """The Triton model serving catalog entry ``model_id`` (what ModelSpec.triton_name is;
    a client needs only the request's model id to route it)."""
    return "neurall_" + re.sub(r"[^a-z0-9_]", "_", model_id)


class CatalogError(ValueError):
    """The catalog file is unusable; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One catalog entry."""

    id: str
    name: str
    family: ModelFamily
    # A diffusers hub id, a local directory, or one of BUILTIN_SOURCES.
    source: str
    description: str | None = None
    native_width: int = 512
    native_height: int = 512
    max_width: int = 1024
    max_height: int = 1024
    default_steps: int = 20
    max_steps: int = 150
    default_guidance: float = 7.5
    schedulers: tuple[str, ...] = SCHEDULERS
    modes: tuple[str, ...] = MODES
    supports_clones: bool = True
    # Credits for one image at the native size and default steps; None: the server's
    # pixel-step price (NEURALL_CREDIT_PIXEL_STEPS), the same for every model.
    credits_per_image: int | None = None
    batch_credits_per_image: int | None = None
    default: bool = False
    # Load at start (Triton: before the first job) rather than on first use.
    preload: bool = False
    # Whether the deployment's safety checker screens this model's images.
    safety_checker: bool = True
    # Widths and heights must be multiples of this (FAMILY_SIZE_MULTIPLE: set by family).
    size_multiple: int = 8
    # The optimized pipeline (neurall.gpu.optimize): None follows NEURALL_PIPELINE_COMPILE.
    optimize: bool | None = None
    # (width, height) compiled at warm-up when optimized; empty: the native size. Other
    # sizes still work, eagerly.
    warmup_sizes: tuple[tuple[int, int], ...] = ()

    @property
    def builtin(self) -> bool:
        return self.source.startswith(BUILTIN_PREFIX)

    @property
    def triton_name(self) -> str:
        """The model's name on a Triton server (one Triton model per entry)."""
        return triton_name(self.id)

    def supports(self, mode: str) -> bool:
        return mode in self.modes

    def __repr__(self) -> str:
        return f"ModelSpec({self.id!r}, {self.family}, {self.source!r})"


@dataclass(frozen=True, slots=True)
class Catalog:
    """The models of one deployment, the default first."""

    models: tuple[ModelSpec, ...]

    def __post_init__(self) -> None:
        if not self.models:
            raise CatalogError("the catalog lists no model")
        ids = [spec.id for spec in self.models]
        if len(set(ids)) != len(ids):
            raise CatalogError("model ids must be unique")
        defaults = [spec for spec in self.models if spec.default]
        if len(defaults) > 1:
            raise CatalogError(f"only one model may be the default: {[s.id for s in defaults]}")
        default = defaults[0] if defaults else self.models[0]
        ordered = (default, *(spec for spec in self.models if spec is not default))
        object.__setattr__(self, "models", ordered)

    @property
    def default(self) -> ModelSpec:
        return self.models[0]

    def get(self, model_id: str | None) -> ModelSpec | None:
        """The entry ``model_id`` names (None: the default); None when there is none."""
        if model_id is None:
            return self.default
        return next((spec for spec in self.models if spec.id == model_id), None)

    def __getitem__(self, model_id: str) -> ModelSpec:
        spec = self.get(model_id)
        if spec is None:
            raise KeyError(model_id)
        return spec

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)


def builtin_catalog(sd1_source: str = "builtin:tiny-sd") -> Catalog:
    """The catalog without a file: one tiny model per family, tiny-sd the default.

    ``sd1_source`` replaces the SD1 entry's source (a deployment that still names one model
    with NEURALL_MODEL keeps serving it as the default).
    """
    tiny = {
        "native_width": 64,
        "native_height": 64,
        "max_width": 1024,
        "max_height": 1024,
    }
    sd1_tiny = sd1_source == "builtin:tiny-sd"
    return Catalog(
        (
            ModelSpec(
                id="tiny-sd",
                name="Tiny SD 1.x" if sd1_tiny else sd1_source,
                family=ModelFamily.SD1,
                source=sd1_source,
                description="Built in: a Stable Diffusion 1.x-shaped pipeline with random "
                "weights, for development and tests."
                if sd1_tiny
                else None,
                default=True,
                preload=True,
                **(tiny if sd1_tiny else {}),
            ),
            ModelSpec(
                id="tiny-sdxl",
                name="Tiny SDXL",
                family=ModelFamily.SDXL,
                source="builtin:tiny-sdxl",
                description="Built in: an SDXL-shaped pipeline (two text encoders, size "
                "conditioning) with random weights.",
                **tiny,
            ),
            ModelSpec(
                id="tiny-flux",
                name="Tiny FLUX",
                family=ModelFamily.FLUX,
                source="builtin:tiny-flux",
                description="Built in: a FLUX-shaped pipeline (a flow-matching transformer, "
                "CLIP and T5 text encoders) with random weights.",
                default_steps=4,
                default_guidance=3.5,
                schedulers=FAMILY_SCHEDULERS[ModelFamily.FLUX],
                size_multiple=FAMILY_SIZE_MULTIPLE[ModelFamily.FLUX],
                **tiny,
            ),
        )
    )


def catalog_for(models_file: Path | None, model: str = TINY_MODEL) -> Catalog:
    """The deployment's catalog: the file's, or the built-in one (``model``, the older
    one-model setting, is then the default entry's source: "tiny" the built-in)."""
    if models_file is not None:
        return load_catalog(models_file)
    return builtin_catalog("builtin:tiny-sd" if model == TINY_MODEL else model)


def load_catalog(path: Path) -> Catalog:
    """The catalog in the TOML file at ``path``; raises CatalogError saying what is wrong."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc})") from exc
    entries = document.get("model")
    unknown = set(document) - {"model"}
    if unknown:
        raise CatalogError(f"{path}: unknown top-level keys {sorted(unknown)}; use [[model]]")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path}: list the models as [[model]] tables")
    specs = [_entry(f"{path}: model {index + 1}", raw) for index, raw in enumerate(entries)]
    try:
        return Catalog(tuple(specs))
    except CatalogError as exc:
        raise CatalogError(f"{path}: {exc}") from exc


_FIELDS = {
    "id": str,
    "name": str,
    "description": str,
    "family": str,
    "source": str,
    "native_size": int,
    "native_width": int,
    "native_height": int,
    "max_size": int,
    "max_width": int,
    "max_height": int,
    "default_steps": int,
    "max_steps": int,
    "default_guidance": float,
    "schedulers": list,
    "modes": list,
    "supports_clones": bool,
    "credits_per_image": int,
    "batch_credits_per_image": int,
    "default": bool,
    "preload": bool,
    "safety_checker": bool,
    "optimize": bool,
    "warmup_sizes": list,
}


def _entry(where: str, raw: Any) -> ModelSpec:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: must be a table")
    if isinstance(raw.get("id"), str):
        where = f"{where} ({raw['id']!r})"

    def bad(field: str, why: str) -> CatalogError:
        return CatalogError(f"{where}: field {field!r}: {why}")

    for key, value in raw.items():
        kind = _FIELDS.get(key)
        if kind is None:
            raise bad(key, f"unknown field (known: {', '.join(sorted(_FIELDS))})")
        # TOML integers are fine where a float is asked; bool is an int in Python, not here.
        fits = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            fits = True
        if not fits:
            raise bad(key, f"must be a {kind.__name__}, not {type(value).__name__}")
    for required in ("id", "family", "source"):
        if required not in raw:
            raise bad(required, "is required")
    model_id = raw["id"]
    if not _ID.fullmatch(model_id):
        raise bad("id", "lower-case letters, digits, '.', '_' or '-', at most 63, not empty")
    try:
        family = ModelFamily(raw["family"])
    except ValueError:
        raise bad("family", f"one of {[f.value for f in ModelFamily]}") from None
    source = raw["source"]
    if source.startswith(BUILTIN_PREFIX):
        if BUILTIN_SOURCES.get(source) is not family:
            known = ", ".join(f"{s} ({f})" for s, f in BUILTIN_SOURCES.items())
            raise bad("source", f"built-in models are {known}, each of its family")
    elif not source.strip():
        raise bad("source", "a diffusers hub id or a local directory")
    tiny = source.startswith(BUILTIN_PREFIX)
    native_default = 64 if tiny else {ModelFamily.SD1: 512}.get(family, 1024)
    native_w = raw.get("native_width", raw.get("native_size", native_default))
    native_h = raw.get("native_height", raw.get("native_size", native_default))
    max_w = raw.get("max_width", raw.get("max_size", max(1024, native_w)))
    max_h = raw.get("max_height", raw.get("max_size", max(1024, native_h)))
    multiple = FAMILY_SIZE_MULTIPLE[family]
    for field, value in (
        ("native_width", native_w),
        ("native_height", native_h),
        ("max_width", max_w),
        ("max_height", max_h),
    ):
        if value % multiple or value < MIN_SIDE:
            raise bad(field, f"a multiple of {multiple} for {family}, at least {MIN_SIDE}")
    if max_w < native_w or max_h < native_h:
        raise bad("max_size", "must be at least the native size")
    default_steps = raw.get("default_steps", 4 if family is ModelFamily.FLUX else 20)
    max_steps = raw.get("max_steps", 150)
    if not 1 <= default_steps <= max_steps:
        raise bad("default_steps", "between 1 and max_steps")
    if max_steps > 500:
        raise bad("max_steps", "at most 500")
    guidance = float(raw.get("default_guidance", 3.5 if family is ModelFamily.FLUX else 7.5))
    if not 0.0 <= guidance <= 30.0:
        raise bad("default_guidance", "between 0 and 30")
    schedulers = tuple(raw.get("schedulers", FAMILY_SCHEDULERS[family]))
    allowed_schedulers = FAMILY_SCHEDULERS[family]
    if not schedulers or any(s not in allowed_schedulers for s in schedulers):
        raise bad("schedulers", f"a non-empty list from {list(allowed_schedulers)} for {family}")
    if "DEFAULT" not in schedulers:
        schedulers = ("DEFAULT", *schedulers)
    modes = tuple(raw.get("modes", FAMILY_MODES[family]))
    if "TEXT_TO_IMAGE" not in modes or any(m not in FAMILY_MODES[family] for m in modes):
        raise bad("modes", f"TEXT_TO_IMAGE and any of {list(FAMILY_MODES[family])}")
    prices = {}
    for field in ("credits_per_image", "batch_credits_per_image"):
        if field in raw and raw[field] < 1:
            raise bad(field, "at least 1")
        prices[field] = raw.get(field)
    if prices["batch_credits_per_image"] is not None and prices["credits_per_image"] is None:
        raise bad("batch_credits_per_image", "needs credits_per_image")
    if (
        prices["batch_credits_per_image"] is not None
        and prices["batch_credits_per_image"] > prices["credits_per_image"]
    ):
        raise bad("batch_credits_per_image", "at most credits_per_image")
    warmup_sizes = tuple(_size(bad, pair, multiple) for pair in raw.get("warmup_sizes", []))
    return ModelSpec(
        id=model_id,
        name=raw.get("name", model_id),
        family=family,
        source=source,
        description=raw.get("description"),
        native_width=native_w,
        native_height=native_h,
        max_width=max_w,
        max_height=max_h,
        default_steps=default_steps,
        max_steps=max_steps,
        default_guidance=guidance,
        schedulers=schedulers,
        modes=tuple(m for m in MODES if m in modes),
        supports_clones=raw.get("supports_clones", True),
        credits_per_image=prices["credits_per_image"],
        batch_credits_per_image=prices["batch_credits_per_image"],
        default=raw.get("default", False),
        preload=raw.get("preload", False),
        safety_checker=raw.get("safety_checker", True),
        size_multiple=multiple,
        optimize=raw.get("optimize"),
        warmup_sizes=warmup_sizes,
    )


def _size(bad: Any, pair: Any, multiple: int) -> tuple[int, int]:
    """One ``warmup_sizes`` item: a [width, height] pair of valid sides."""
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or not all(isinstance(side, int) and not isinstance(side, bool) for side in pair)
        or any(side % multiple or side < MIN_SIDE for side in pair)
    ):
        why = f"[width, height] pairs, multiples of {multiple}, at least {MIN_SIDE}"
        raise bad("warmup_sizes", why)
    return pair[0], pair[1]
