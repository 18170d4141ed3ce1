// The server's model catalog (`models`, the default first; no authentication needed), and
// what the forms derive from an entry: its limits, its size step, how it is named.
import { useCallback } from "react";
import { useQuery } from "urql";
import type { ModelFamily, ModelsQuery as ModelsData, Scheduler } from "../gql/graphql";
import { errorMessage } from "./client";
import { formatCredits } from "./format";
import { ModelsQuery } from "./operations";

export type Model = ModelsData["models"][number];

/** Widths and heights are multiples of this: FLUX packs 2x2 latents into one token. */
export function sizeStep(model: Pick<Model, "family"> | null | undefined): number {
  return model?.family === "FLUX" ? 16 : 8;
}

/** FLUX models take no negative prompt (the server refuses one). */
export function takesNegativePrompt(model: Pick<Model, "family"> | null | undefined): boolean {
  return model?.family !== "FLUX";
}

export const FAMILY_NAMES: Record<ModelFamily, string> = {
  SD1: "Stable Diffusion 1.x",
  SDXL: "Stable Diffusion XL",
  FLUX: "FLUX",
};

export const SCHEDULER_NAMES: Record<Scheduler, string> = {
  DEFAULT: "Model default",
  DDIM: "DDIM",
  EULER: "Euler",
  EULER_ANCESTRAL: "Euler ancestral",
  DPM_PP_2M: "DPM++ 2M",
  UNIPC: "UniPC",
};

/** "Tiny SD 1.x — 1 credit/image": the picker's option. */
export function modelOption(model: Model): string {
  return `${model.name} — ${formatCredits(model.creditsPerImage)}/image`;
}

/** The catalog, fetched once and kept (it changes only with a deploy); ``refresh`` asks
 * again, for the models' states (a COLD model is READY once a job has loaded it). */
export function useModels(): { models: Model[]; fetching: boolean; error: string; refresh: () => void } {
  const [result, reexecute] = useQuery({ query: ModelsQuery, requestPolicy: "cache-first" });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  return {
    models: result.data?.models ?? [],
    fetching: result.fetching,
    error: result.error ? errorMessage(result.error) : "",
    refresh,
  };
}

/** A model id as people read it: the catalog's name, or the id when the catalog no longer
 * lists it (a job made with a model since removed). */
export function modelName(models: readonly Model[], id: string | null | undefined): string {
  if (!id) return "";
  return models.find((m) => m.id === id)?.name ?? id;
}
