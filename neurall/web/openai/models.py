"""``GET /v1/models``: the model catalog in OpenAI's list format.

Public, as GraphQL's ``models`` is (a key, when sent, is still checked and charged to the
rate limits like any authenticated call). ``created`` is 0: a catalog entry has no date.
Neurall's own facts about each model ride along as extra fields.
"""

from __future__ import annotations

from aiohttp import web

from neurall.generation import params as gen_params
from neurall.web.openai.call import Call


async def list_models(call: Call) -> web.StreamResponse:
    settings = call.services.settings
    data = []
    for spec in call.services.catalog:
        max_w, max_h = gen_params.max_size(spec, settings)
        default_w, default_h = gen_params.default_size(spec, settings)
        data.append(
            {
                "id": spec.id,
                "object": "model",
                "created": 0,
                "owned_by": "neurall",
                "name": spec.name,
                "family": spec.family.value,
                "default": spec.default,
                "default_size": f"{default_w}x{default_h}",
                "max_size": f"{max_w}x{max_h}",
                "default_steps": spec.default_steps,
                "max_steps": spec.max_steps,
                "schedulers": list(spec.schedulers),
            }
        )
    return web.json_response({"object": "list", "data": data})
