"""Model catalogs for tests: the GraphQL documents that read them, and a catalog file whose
entries have prices, limits and a family without some modes, on the built-in tiny
pipelines so that jobs still run in a moment."""

from __future__ import annotations

from pathlib import Path

MODEL_FIELDS = """
  id name description family nativeWidth nativeHeight maxWidth maxHeight defaultSteps
  maxSteps modes schedulers supportsClones creditsPerImage batchCreditsPerImage state isDefault
"""
MODELS = f"{{ models {{ {MODEL_FIELDS} }} }}"
MODEL = f"query($id: ID!) {{ model(id: $id) {{ {MODEL_FIELDS} }} }}"
PRICED = """
[[model]]
id = "priced"
name = "Priced SD"
family = "SD1"
source = "builtin:tiny-sd"
native_size = 64
max_size = 256
default_steps = 4
max_steps = 10
credits_per_image = 3
batch_credits_per_image = 2
default = true

[[model]]
id = "flux-priced"
family = "FLUX"
source = "builtin:tiny-flux"
native_size = 64
credits_per_image = 5
supports_clones = false
modes = ["TEXT_TO_IMAGE"]

[[model]]
id = "pixel-steps"
family = "SDXL"
source = "builtin:tiny-sdxl"
native_size = 512
"""


def catalog_file(directory: Path, text: str) -> Path:
    """``text`` written as ``directory``/models.toml."""
    path = directory / "models.toml"
    path.write_text(text)
    return path
