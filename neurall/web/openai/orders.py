"""OpenAI's request bodies, read into what the domain takes: the request as sent, by the
request record's field names (neurall.generation.params.validate checks it, exactly as
it checks GraphQL's GenerateInput), and how the images are to come back.

Only the shape is checked here (types, ``size`` as "WxH", ``response_format``); bounds,
defaults and models are the domain's. OpenAI's ``quality``, ``style`` and ``user`` are
accepted and ignored (docs/openai-compat.md says why); Neurall's own parameters come as
extra fields (the SDKs' ``extra_body``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neurall.orm.jobs import JobPriority
from neurall.web.openai.errors import invalid

RESPONSE_FORMATS = ("url", "b64_json")
# Accepted for compatibility and ignored: neither means anything to a diffusion model here
# (steps are Neurall's quality knob), and ``user`` is an end user's id this server must
# not keep.
IGNORED = ("quality", "style", "user", "background", "moderation", "output_format")
# Neurall's parameters, by the record's field name, and the Python type each takes.
# ``strength`` means something only for an edit; a generation that sends it is refused by
# the domain, as GraphQL's generate is, rather than silently ignored.
EXTRA: dict[str, type] = {
    "negative_prompt": str,
    "seed": int,
    "steps": int,
    "guidance_scale": float,
    "scheduler": str,
    "strength": float,
}


@dataclass(frozen=True)
class Order:
    """One images call, read: ``sent`` for the domain's validation, and the answer's form."""

    sent: dict[str, Any]
    response_format: str
    # The lane the job waits in, which also prices it (not part of the request record).
    priority: JobPriority = JobPriority.STANDARD

    @property
    def has_images(self) -> bool:
        return self.sent.get("init_image") is not None

    def digest_input(self) -> dict[str, Any]:
        """What an Idempotency-Key's digest covers (neurall.generation.idempotency): the
        request as sent, images by the SHA-256 of their bytes."""
        values = {**self.sent, "priority": self.priority.value}
        for name in ("init_image", "mask"):
            if isinstance(values.get(name), bytes):
                values[name] = hashlib.sha256(values[name]).hexdigest()
        return values


def _typed(name: str, value: Any, kind: type, *, from_form: bool) -> Any:
    """``value`` as ``kind``; form fields arrive as text and are converted."""
    if value is None:
        return None
    if from_form and kind is not str:
        try:
            value = kind(value)
        except ValueError:
            raise invalid(f"'{name}' must be a number.", name) from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise invalid(f"'{name}' must be {_KIND_NAMES[kind]}.", name)
    if kind is float and not math.isfinite(value):
        raise invalid(f"'{name}' must be a finite number.", name)
    return value


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number"}


_SIZE = re.compile(r"(\d{1,6})[xX](\d{1,6})", re.ASCII)


def parse_size(value: Any) -> tuple[int | None, int | None]:
    """``size`` ("512x768"; "auto" or none: the model's default) as width and height."""
    if value is None or value == "auto":
        return None, None
    if isinstance(value, str) and (found := _SIZE.fullmatch(value)):
        return int(found[1]), int(found[2])
    raise invalid('\'size\' must be WIDTHxHEIGHT in pixels, e.g. "512x512", or "auto".', "size")


def read_order(
    body: Mapping[str, Any],
    *,
    extra: Mapping[str, type],
    from_form: bool = False,
    images: Mapping[str, bytes | None] | None = None,
) -> Order:
    """The order in ``body`` (a JSON object, or a form's text fields with ``from_form``);
    ``images``: an edit's ``init_image`` and ``mask``, already in the pipeline's form."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise invalid("'prompt' is required: a string.", "prompt")
    response_format = body.get("response_format") or "url"
    if response_format not in RESPONSE_FORMATS:
        raise invalid('\'response_format\' must be "url" or "b64_json".', "response_format")
    width, height = parse_size(body.get("size"))
    sent: dict[str, Any] = {
        "prompt": prompt,
        "model": _typed("model", body.get("model"), str, from_form=from_form),
        "num_images": _typed("n", body.get("n"), int, from_form=from_form),
        "width": width,
        "height": height,
        **(images or {}),
    }
    for name, kind in extra.items():
        sent[name] = _typed(name, body.get(name), kind, from_form=from_form)
    if isinstance(sent.get("scheduler"), str):
        sent["scheduler"] = sent["scheduler"].upper()  # the catalog's names are upper case
    return Order(sent=sent, response_format=response_format, priority=_priority(body))


def _priority(body: Mapping[str, Any]) -> JobPriority:
    value = body.get("priority")
    if value is None:
        return JobPriority.STANDARD
    if isinstance(value, str) and value.upper() in JobPriority.__members__:
        return JobPriority(value.upper())
    names = " or ".join(f'"{p.value.lower()}"' for p in JobPriority)
    raise invalid(f"'priority' must be {names}.", "priority")
