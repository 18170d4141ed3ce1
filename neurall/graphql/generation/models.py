"""models and model: the server's model catalog, for anyone (no authentication)."""

from __future__ import annotations

import strawberry

from neurall.billing.pricing import Pricing, batch_list_price, list_price
from neurall.generation.model_states import ModelState as DomainModelState
from neurall.generation.model_states import model_states
from neurall.gpu.catalog import ModelSpec
from neurall.graphql.context import Info
from neurall.graphql.generation.enums import GenerationMode, ModelFamily, ModelState, Scheduler


@strawberry.type(description="One entry of the server's model catalog.")
class Model:
    id: strawberry.ID = strawberry.field(
        description="Stable id used in GenerateInput.model and CreateCloneInput.baseModel."
    )
    name: str
    description: str | None
    family: ModelFamily
    native_width: int
    native_height: int
    max_width: int = strawberry.field(
        description="The largest width it takes here (the server may cap it below the model's)."
    )
    max_height: int
    default_steps: int
    max_steps: int
    modes: list[GenerationMode] = strawberry.field(
        description="The modes this model accepts (a family without inpainting support omits "
        "INPAINT)."
    )
    schedulers: list[Scheduler]
    supports_clones: bool = strawberry.field(
        description="Clones can be trained on this model and generate with it."
    )
    credits_per_image: int = strawberry.field(
        description="Credits for one image at the native size and default steps, STANDARD "
        "priority (what estimateCost holds for those defaults)."
    )
    batch_credits_per_image: int = strawberry.field(description="The same for BATCH priority.")
    state: ModelState
    is_default: bool = strawberry.field(
        description="The model used when GenerateInput.model is omitted."
    )


def model_type(
    spec: ModelSpec, *, default: bool, state: DomainModelState, pricing: Pricing, max_side: int
) -> Model:
    return Model(
        id=strawberry.ID(spec.id),
        name=spec.name,
        description=spec.description,
        family=spec.family,
        native_width=spec.native_width,
        native_height=spec.native_height,
        max_width=min(spec.max_width, max_side),
        max_height=min(spec.max_height, max_side),
        default_steps=spec.default_steps,
        max_steps=spec.max_steps,
        modes=[GenerationMode(m) for m in spec.modes],
        schedulers=[Scheduler(s) for s in spec.schedulers],
        supports_clones=spec.supports_clones,
        credits_per_image=list_price(spec, pricing),
        batch_credits_per_image=batch_list_price(spec, pricing),
        state=state,
        is_default=default,
    )


async def _models(info: Info, only: str | None = None) -> list[Model]:
    services = info.context.services
    catalog = services.catalog
    states = await model_states(services.generation, catalog)
    pricing = Pricing.from_settings(services.settings)
    return [
        model_type(
            spec,
            default=spec is catalog.default,
            state=states[spec.id],
            pricing=pricing,
            max_side=services.settings.max_image_side,
        )
        for spec in catalog
        if only is None or spec.id == only
    ]


@strawberry.type
class ModelQuery:
    @strawberry.field(
        description="The models this server offers, the default first. Needs no authentication."
    )
    async def models(self, info: Info) -> list[Model]:
        return await _models(info)

    @strawberry.field(description="Null when no model has this id. Needs no authentication.")
    async def model(self, info: Info, id: strawberry.ID) -> Model | None:
        if info.context.services.catalog.get(str(id)) is None:
            return None
        return (await _models(info, str(id)))[0]
