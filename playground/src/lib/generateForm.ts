// The Generate form's state and what is derived from it: the defaults a model brings, the
// GenerateInput it sends, the checks made before anything is sent, and the form a finished
// job's parameters give back ("Generate again", "Use as start").
import type { GenerateInput, GenerationMode, JobFieldsFragment, JobPriority, Scheduler } from "../gql/graphql";
import { LIMITS, checkDecimal, checkWhole } from "./limits";
import { sizeStep, takesNegativePrompt } from "./models";
import type { Model } from "./models";

export const SIZES = ["default", "256x256", "512x512", "768x768", "512x768", "768x512", "1024x1024", "custom"] as const;
export const MAX_PROMPT_CHARS = 2000;
/** The API takes at most this many clones in one generation. */
export const MAX_CLONES = 4;
/** What the server uses when no strength is sent (neurall/generation/params.py). */
export const DEFAULT_STRENGTH: Record<GenerationMode, number> = { TEXT_TO_IMAGE: 1, IMAGE_TO_IMAGE: 0.8, INPAINT: 1 };

export const MODE_NAMES: Record<GenerationMode, string> = {
  TEXT_TO_IMAGE: "Text to image",
  IMAGE_TO_IMAGE: "Image to image",
  INPAINT: "Inpainting",
};

export interface ClonePick {
  cloneId: string;
  /** 0 to 2, as typed (a slider's value). */
  weight: string;
}

/** The picture the job starts from: an uploaded file, or a history image fetched again
 * (never kept: it lives in this page's memory until the job is sent). */
export interface StartImage {
  file: File;
  /** Where it came from, as people read it ("photo.png", "your history"). */
  from: string;
  width: number;
  height: number;
}

export interface FormState {
  /** The chosen Model.id; "" until the catalog has loaded (the server's default). */
  model: string;
  mode: GenerationMode;
  prompt: string;
  negativePrompt: string;
  size: string;
  width: string;
  height: string;
  steps: string;
  guidanceScale: string;
  randomSeed: boolean;
  seed: string;
  numImages: string;
  adapters: ClonePick[];
  scheduler: Scheduler;
  priority: JobPriority;
  initImage: StartImage | null;
  /** The painted mask as a PNG (white is repainted, black kept); null until painted. */
  mask: File | null;
  strength: string;
}

// Guidance starts empty: the server then uses the model's own (7.5 for Stable Diffusion,
// 3.5 for FLUX), which the catalog does not list.
export const DEFAULTS: FormState = {
  model: "",
  mode: "TEXT_TO_IMAGE",
  prompt: "",
  negativePrompt: "",
  size: "default",
  width: "512",
  height: "512",
  steps: "20",
  guidanceScale: "",
  randomSeed: true,
  seed: "",
  numImages: "1",
  adapters: [],
  scheduler: "DEFAULT",
  priority: "STANDARD",
  initImage: null,
  mask: null,
  strength: "",
};

/** The form's values that follow a model: its native size and default steps; a mode,
 * scheduler or clone it does not take is dropped. ``first``: the catalog has just arrived,
 * and whatever was already typed stays. */
export function withModel(form: FormState, model: Model, first = false): FormState {
  const keep = (key: "width" | "height" | "steps", value: number) =>
    first && form[key] !== DEFAULTS[key] ? form[key] : String(value);
  const size = form.size === "default" || form.size === "custom" || fits(form.size, model) ? form.size : "default";
  const mode = model.modes.includes(form.mode) ? form.mode : "TEXT_TO_IMAGE";
  return {
    ...form,
    model: model.id,
    mode,
    size,
    width: keep("width", model.nativeWidth),
    height: keep("height", model.nativeHeight),
    steps: keep("steps", model.defaultSteps),
    scheduler: model.schedulers.includes(form.scheduler) ? form.scheduler : "DEFAULT",
    initImage: mode === "TEXT_TO_IMAGE" ? null : form.initImage,
    mask: mode === "INPAINT" ? form.mask : null,
    strength: mode === "TEXT_TO_IMAGE" ? "" : form.strength,
    // A clone works only with the model it was trained on.
    adapters: form.model === model.id && model.supportsClones ? form.adapters : [],
  };
}

/** Whether a preset size ("768x512") is within the model's bounds and size step. */
export function fits(size: string, model: Model): boolean {
  const [w, h] = size.split("x").map(Number);
  const step = sizeStep(model);
  return w <= model.maxWidth && h <= model.maxHeight && w % step === 0 && h % step === 0;
}

/** What generate is sent. ``priced`` leaves out the start image and mask: the estimate is
 * a plain query, and the price does not depend on them. */
export function toInput(form: FormState, model: Model | null, priced = false): GenerateInput {
  const int = (v: string) => (v.trim() === "" ? null : Number.parseInt(v, 10));
  const input: GenerateInput = {
    prompt: form.prompt,
    negativePrompt: form.negativePrompt.trim() && takesNegativePrompt(model) ? form.negativePrompt : null,
    steps: int(form.steps),
    guidanceScale: form.guidanceScale.trim() === "" ? null : Number.parseFloat(form.guidanceScale),
    numImages: int(form.numImages) ?? 1,
    seed: form.randomSeed ? null : int(form.seed),
    scheduler: form.scheduler,
    priority: form.priority,
  };
  const adapters = form.adapters.filter((a) => a.cloneId);
  if (adapters.length) input.adapters = adapters.map((a) => ({ cloneId: a.cloneId, weight: Number.parseFloat(a.weight) }));
  if (form.model) input.model = form.model;
  if (form.mode !== "TEXT_TO_IMAGE" && form.initImage && !priced) {
    input.initImage = form.initImage.file;
    if (form.mode === "INPAINT" && form.mask) input.mask = form.mask;
    if (form.strength.trim()) input.strength = Number.parseFloat(form.strength);
  }
  if (form.size === "custom") {
    input.width = int(form.width);
    input.height = int(form.height);
  } else if (form.size !== "default") {
    const [w, h] = form.size.split("x").map(Number);
    input.width = w;
    input.height = h;
  }
  return input;
}

// The form's fields, by the key InvalidInput's paths give them ("input.steps" is "steps";
// "adapters." takes "adapters.0.weight" and the like).
export const FORM_FIELDS = [
  "model", "prompt", "negativePrompt", "width", "height", "steps", "guidanceScale", "numImages", "seed", "cloneId",
  "adapters", "adapters.", "scheduler", "initImage", "mask", "strength", "priority",
];

/** What is wrong with the form's numbers (and prompt lengths) before anything is sent,
 * in the server's words, by field. */
export function checkForm(form: FormState, model: Model | null): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, problem: string | null) => {
    if (problem) out[key] = problem;
  };
  if (form.prompt.length > MAX_PROMPT_CHARS) put("prompt", `Write a prompt of 1 to ${MAX_PROMPT_CHARS.toLocaleString("en")} characters.`);
  if (form.negativePrompt.length > MAX_PROMPT_CHARS)
    put("negativePrompt", `The negative prompt is at most ${MAX_PROMPT_CHARS.toLocaleString("en")} characters.`);
  if (form.size === "custom") {
    const step = sizeStep(model);
    for (const [key, label, max] of [["width", "Width", model?.maxWidth ?? LIMITS.maxSide], ["height", "Height", model?.maxHeight ?? LIMITS.maxSide]] as const) {
      const value = form[key];
      if (checkWhole(value, LIMITS.minSide, max, label) || (value.trim() && Number(value) % step))
        put(key, `${label} must be a multiple of ${step} between ${LIMITS.minSide} and ${max.toLocaleString("en")}.`);
    }
  }
  put("steps", checkWhole(form.steps, 1, model?.maxSteps ?? LIMITS.maxSteps, "Steps"));
  if (form.mode !== "TEXT_TO_IMAGE") put("strength", checkDecimal(form.strength, 0, 1, "Strength"));
  put("guidanceScale", checkDecimal(form.guidanceScale, 0, LIMITS.maxGuidance, "Guidance"));
  put("numImages", checkWhole(form.numImages, 1, LIMITS.maxImages, "The number of images"));
  if (!form.randomSeed) put("seed", checkWhole(form.seed, 0, LIMITS.maxSeed, "The seed"));
  return out;
}

/** What the chosen mode still lacks, checked when Generate is pressed (not while the
 * form is being filled in). */
export function checkPictures(form: FormState): Record<string, string> {
  if (form.mode === "TEXT_TO_IMAGE") return {};
  if (!form.initImage) return { initImage: "Choose a start image: a file, or “Use as start” on an image you made." };
  if (form.mode === "INPAINT" && !form.mask) return { mask: "Paint over the part of the image to repaint." };
  return {};
}

/** The form a job's parameters give back. ``keepSeed``: its seed, else a new one. Its
 * model's native size is the default size (the start image's, for a start image). The
 * start image and mask were deleted when the job ended: the caller brings them back (its
 * own copy, or a history image fetched again). */
export function formFromJob(job: JobFieldsFragment, keepSeed: boolean, models: readonly Model[]): FormState | null {
  const params = job.params;
  if (!params) return null;
  const model = models.find((m) => m.id === params.model);
  const native = model && model.nativeWidth === params.width && model.nativeHeight === params.height;
  const size = native ? "default" : `${params.width}x${params.height}`;
  return {
    ...DEFAULTS,
    model: params.model,
    mode: params.mode,
    prompt: params.prompt,
    negativePrompt: params.negativePrompt ?? "",
    size: SIZES.includes(size as (typeof SIZES)[number]) ? size : "custom",
    width: String(params.width),
    height: String(params.height),
    steps: String(params.steps),
    guidanceScale: String(params.guidanceScale),
    randomSeed: !keepSeed,
    seed: keepSeed ? String(params.seed) : "",
    numImages: String(params.numImages),
    adapters: params.adapters.length
      ? params.adapters.map((a) => ({ cloneId: a.cloneId, weight: String(a.weight) }))
      : params.cloneId
        ? [{ cloneId: params.cloneId, weight: "1" }]
        : [],
    scheduler: params.scheduler,
    priority: params.priority,
    strength: params.strength === null || params.strength === undefined ? "" : String(params.strength),
  };
}

/** An image of this server's (a result or a history image) fetched again as a file, with
 * its size. */
export async function fetchStartImage(url: string, name: string, from: string): Promise<StartImage> {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error("The image could not be fetched again; it may have been deleted.");
  const blob = await response.blob();
  const file = new File([blob], name, { type: blob.type || "image/png" });
  return { file, from, ...(await imageSize(file)) };
}

/** The pixel size of an image file (decoded by the browser). */
export async function imageSize(file: Blob): Promise<{ width: number; height: number }> {
  const bitmap = await createImageBitmap(file);
  const size = { width: bitmap.width, height: bitmap.height };
  bitmap.close();
  return size;
}
