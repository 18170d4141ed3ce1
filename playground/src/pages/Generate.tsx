import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { ErrorNote, Field, StatusBadge } from "../components/ui";
import type { GenerateInput, JobFieldsFragment, Scheduler } from "../gql/graphql";
import { errorMessage } from "../lib/client";
import { formatCredits, formatEta, invalidInput } from "../lib/format";
import { isTerminal, useJobEvents } from "../lib/jobEvents";
import { LIMITS, checkDecimal, checkWhole } from "../lib/limits";
import type { JobState } from "../lib/jobEvents";
import { FAMILY_NAMES, SCHEDULER_NAMES, modelName, modelOption, sizeStep, takesNegativePrompt, useModels } from "../lib/models";
import type { Model } from "../lib/models";
import { CancelJobMutation, ClonesQuery, EstimateCostQuery, GenerateMutation, JobQuery } from "../lib/operations";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";

const SIZES = ["default", "256x256", "512x512", "768x768", "512x768", "768x512", "1024x1024", "custom"] as const;
const MAX_PROMPT_CHARS = 2000;
const ACTIVE_JOB_KEY = "neurall.activeJob";

interface FormState {
  /** The chosen Model.id; "" until the catalog has loaded (the server's default). */
  model: string;
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
  cloneId: string;
  scheduler: Scheduler;
  initImage: File | null;
  mask: File | null;
  strength: string;
}

// Guidance starts empty: the server then uses the model's own (7.5 for Stable Diffusion,
// 3.5 for FLUX), which the catalog does not list.
const DEFAULTS: FormState = {
  model: "",
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
  cloneId: "",
  scheduler: "DEFAULT",
  initImage: null,
  mask: null,
  strength: "",
};

/** The form's values that follow a model: its native size and default steps; a scheduler,
 * start image, mask or clone it does not take is dropped. ``first``: the catalog has just
 * arrived, and whatever was already typed stays. */
function withModel(form: FormState, model: Model, first = false): FormState {
  const keep = (key: "width" | "height" | "steps", value: number) =>
    first && form[key] !== DEFAULTS[key] ? form[key] : String(value);
  const takesImages = model.modes.includes("IMAGE_TO_IMAGE") || model.modes.includes("INPAINT");
  const size = form.size === "default" || form.size === "custom" || fits(form.size, model) ? form.size : "default";
  return {
    ...form,
    model: model.id,
    size,
    width: keep("width", model.nativeWidth),
    height: keep("height", model.nativeHeight),
    steps: keep("steps", model.defaultSteps),
    scheduler: model.schedulers.includes(form.scheduler) ? form.scheduler : "DEFAULT",
    initImage: takesImages ? form.initImage : null,
    mask: model.modes.includes("INPAINT") ? form.mask : null,
    strength: takesImages ? form.strength : "",
    cloneId: model.supportsClones ? form.cloneId : "",
  };
}

/** Whether a preset size ("768x512") is within the model's bounds and size step. */
function fits(size: string, model: Model): boolean {
  const [w, h] = size.split("x").map(Number);
  const step = sizeStep(model);
  return w <= model.maxWidth && h <= model.maxHeight && w % step === 0 && h % step === 0;
}

/** What generate is sent. ``priced`` leaves out the start image and mask: the estimate is
 * a plain query, and the price does not depend on them. */
function toInput(form: FormState, model: Model | null, priced = false): GenerateInput {
  const int = (v: string) => (v.trim() === "" ? null : Number.parseInt(v, 10));
  const input: GenerateInput = {
    prompt: form.prompt,
    negativePrompt: form.negativePrompt.trim() && takesNegativePrompt(model) ? form.negativePrompt : null,
    steps: int(form.steps),
    guidanceScale: form.guidanceScale.trim() === "" ? null : Number.parseFloat(form.guidanceScale),
    numImages: int(form.numImages) ?? 1,
    seed: form.randomSeed ? null : int(form.seed),
    cloneId: form.cloneId || null,
    scheduler: form.scheduler,
  };
  if (form.model) input.model = form.model;
  if (form.initImage && !priced) {
    input.initImage = form.initImage;
    if (form.mask) input.mask = form.mask;
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

// The form's fields, by the key InvalidInput's paths give them ("input.steps" is "steps").
const FORM_FIELDS = [
  "model", "prompt", "negativePrompt", "width", "height", "steps", "guidanceScale", "numImages", "seed", "cloneId",
  "scheduler", "initImage", "mask", "strength",
];

/** What is wrong with the form's numbers (and prompt lengths) before anything is sent,
 * in the server's words, by field. */
function checkForm(form: FormState, model: Model | null): Record<string, string> {
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
  if (form.initImage) put("strength", checkDecimal(form.strength, 0, 1, "Strength"));
  put("guidanceScale", checkDecimal(form.guidanceScale, 0, LIMITS.maxGuidance, "Guidance"));
  put("numImages", checkWhole(form.numImages, 1, LIMITS.maxImages, "The number of images"));
  if (!form.randomSeed) put("seed", checkWhole(form.seed, 0, LIMITS.maxSeed, "The seed"));
  return out;
}

function newKey(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function GeneratePage() {
  const { me, refresh } = useSession();
  const { location, navigate } = useRouter();
  const client = useClient();
  const [form, setForm] = useState<FormState>(DEFAULTS);
  const [estimate, setEstimate] = useState<{ cost: number | null; error: string | null; busy: boolean }>({
    cost: null,
    error: null,
    busy: false,
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState("");
  const [job, setJob] = useState<JobFieldsFragment | null>(null);
  const [generateState, generate] = useMutation(GenerateMutation);
  const [cancelState, cancelJob] = useMutation(CancelJobMutation);
  const [clones] = useQuery({ query: ClonesQuery });
  const { models, fetching: modelsFetching, error: modelsError } = useModels();
  const model = models.find((m) => m.id === form.model) ?? null;
  const output = useRef<HTMLDivElement>(null);
  const initImageInput = useRef<HTMLInputElement>(null);
  const maskInput = useRef<HTMLInputElement>(null);
  // A clone works only with the model it was trained on.
  const readyClones = useMemo(
    () => (clones.data?.clones ?? []).filter((c) => c.status === "READY" && (!form.model || c.baseModel === form.model)),
    [clones.data, form.model],
  );

  const update = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => {
      const { [key]: _removed, ...rest } = e;
      return rest;
    });
  };

  // Once the catalog arrives, the default model's defaults (unless "Generate again" has
  // already filled the form).
  useEffect(() => {
    const first = models[0];
    if (first) setForm((f) => (f.model ? f : withModel(f, first, true)));
  }, [models]);

  const chooseModel = (id: string) => {
    const chosen = models.find((m) => m.id === id);
    if (!chosen) return;
    setForm((f) => withModel(f, chosen));
    setErrors({});
  };

  // A file input cannot be set, only cleared: when the form drops its file, so does it.
  useEffect(() => {
    if (!form.initImage && initImageInput.current) initImageInput.current.value = "";
    if (!form.mask && maskInput.current) maskInput.current.value = "";
  }, [form.initImage, form.mask]);

  // "Generate again" (?again=<job id>) and "Generate with this clone" (?clone=<id>).
  const again = location.search.get("again");
  const cloneParam = location.search.get("clone");
  useEffect(() => {
    if (!again) return;
    void client
      .query(JobQuery, { id: again }, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => {
        const params = result.data?.job?.params;
        if (!params) return;
        const size = `${params.width}x${params.height}`;
        setForm({
          model: params.model,
          prompt: params.prompt,
          negativePrompt: params.negativePrompt ?? "",
          size: SIZES.includes(size as (typeof SIZES)[number]) ? size : "custom",
          width: String(params.width),
          height: String(params.height),
          steps: String(params.steps),
          guidanceScale: String(params.guidanceScale),
          randomSeed: false,
          seed: String(params.seed),
          numImages: String(params.numImages),
          cloneId: params.cloneId ?? "",
          scheduler: params.scheduler,
          // The start image and mask were deleted when the job ended.
          initImage: null,
          mask: null,
          strength: "",
        });
      });
  }, [again, client]);
  useEffect(() => {
    if (!cloneParam) return;
    const clone = clones.data?.clones.find((c) => c.id === cloneParam);
    const base = models.find((m) => m.id === clone?.baseModel);
    if (!clone || !base) return;
    setForm((f) => ({
      ...(f.model === base.id ? f : withModel(f, base)),
      cloneId: clone.id,
      prompt: f.prompt || `a photo of ${clone.triggerWord} person`,
    }));
  }, [cloneParam, clones.data, models]);

  // A job still running when the page was left (or reloaded) is followed again.
  useEffect(() => {
    const saved = window.sessionStorage.getItem(ACTIVE_JOB_KEY);
    if (!saved) return;
    void client
      .query(JobQuery, { id: saved }, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => {
        const found = result.data?.job;
        if (found && !isTerminal(found.status)) setJob(found);
        else window.sessionStorage.removeItem(ACTIVE_JOB_KEY);
      });
  }, [client]);

  // The estimate follows the form as the user types (debounced), once its numbers are
  // within bounds: out of bounds, the fields say what is wrong and nothing is sent.
  const input = useMemo(() => toInput(form, model), [form, model]);
  const pricedInput = useMemo(() => toInput(form, model, true), [form, model]);
  const problems = useMemo(() => checkForm(form, model), [form, model]);
  const sendable = Object.keys(problems).length === 0;
  useEffect(() => {
    if (!sendable) {
      setEstimate({ cost: null, error: null, busy: false });
      return;
    }
    let stale = false;
    setEstimate((e) => ({ ...e, busy: true }));
    const timer = window.setTimeout(async () => {
      const priced = { ...pricedInput, prompt: pricedInput.prompt.trim() ? pricedInput.prompt : "estimate" };
      const result = await client.query(EstimateCostQuery, { input: priced }, { requestPolicy: "network-only" }).toPromise();
      if (stale) return;
      if (result.error) setEstimate({ cost: null, error: errorMessage(result.error), busy: false });
      else setEstimate({ cost: result.data?.estimateCost ?? null, error: null, busy: false });
    }, 250);
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [pricedInput, sendable, client]);

  const onEnd = useCallback(
    (_state: JobState) => {
      window.sessionStorage.removeItem(ACTIVE_JOB_KEY);
      refresh();
    },
    [refresh],
  );
  const live = useJobEvents(job, onEnd);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setFormError("");
    if (!sendable) {
      window.requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      return;
    }
    const result = await generate({ input, idempotencyKey: newKey() });
    if (result.error) {
      setFormError(errorMessage(result.error));
      return;
    }
    const data = result.data?.generate;
    if (!data) return;
    if (data.__typename === "Job") {
      window.sessionStorage.setItem(ACTIVE_JOB_KEY, data.id);
      setJob(data);
      refresh();
      // On a phone the progress sits below the form: bring it into view.
      if (window.matchMedia("(max-width: 900px)").matches) {
        window.requestAnimationFrame(() => output.current?.scrollIntoView({ block: "start" }));
      }
      return;
    }
    if (data.__typename === "InvalidInput") {
      // Each message beside its own field; the rest (none of the form's) above the button.
      const { fields, summary } = invalidInput(data, FORM_FIELDS);
      setErrors(fields);
      setFormError(summary);
      window.requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
    } else if ("message" in data) {
      setFormError(data.message);
    }
  };

  const cancel = async () => {
    if (!job) return;
    const result = await cancelJob({ id: job.id });
    const data = result.data?.cancelJob;
    if (result.error) setFormError(errorMessage(result.error));
    else if (data && data.__typename !== "Job" && "message" in data) setFormError(data.message);
    refresh();
  };

  const running = live !== null && !isTerminal(live.status);
  // What the server said wins; until it says anything, the form's own checks.
  const shown: Record<string, string> = { ...problems, ...errors };
  const custom = form.size === "custom";
  const step = sizeStep(model);
  const takesImage = model ? model.modes.includes("IMAGE_TO_IMAGE") || model.modes.includes("INPAINT") : false;

  return (
    <section className="generate">
      <hgroup>
        <h1>Generate</h1>
        <p>Describe an image; watch it form step by step. Your prompts and images are kept in your history until you delete them.</p>
      </hgroup>
      <div className="generate-grid">
        <form onSubmit={submit} noValidate aria-label="Generation settings" className="card">
          <div className="field model-picker">
            <label htmlFor="model">Model</label>
            <select id="model" name="model" value={form.model} onChange={(e) => chooseModel(e.target.value)}
              disabled={models.length === 0}
              aria-invalid={shown.model ? true : undefined}
              aria-describedby={[model ? "model-about" : "", shown.model || modelsError ? "model-error" : ""].filter(Boolean).join(" ") || undefined}>
              {models.length ? (
                models.map((m) => (
                  <option key={m.id} value={m.id}>
                    {modelOption(m)}
                  </option>
                ))
              ) : (
                <option value="">{modelsFetching ? "Loading models…" : "The server's default"}</option>
              )}
            </select>
            {model ? (
              <small id="model-about" className="model-about" data-testid="model-about">
                {model.description ? <span>{model.description}</span> : null}
                <span className="model-facts">
                  {FAMILY_NAMES[model.family]} · native {model.nativeWidth} × {model.nativeHeight}, up to{" "}
                  {model.maxWidth.toLocaleString("en")} × {model.maxHeight.toLocaleString("en")} · {model.defaultSteps} steps by default
                </span>
              </small>
            ) : null}
            {shown.model || modelsError ? (
              <small id="model-error" className="field-error">
                {shown.model || modelsError}
              </small>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="prompt">Prompt</label>
            <textarea
              id="prompt"
              name="prompt"
              rows={3}
              required
              value={form.prompt}
              onChange={(e) => update("prompt", e.target.value)}
              placeholder="a lighthouse on a cliff at dawn, oil painting"
              aria-invalid={shown.prompt ? true : undefined}
              aria-describedby={shown.prompt ? "prompt-error" : undefined}
            />
            {shown.prompt ? (
              <small id="prompt-error" className="field-error">
                {shown.prompt}
              </small>
            ) : null}
          </div>
          {takesNegativePrompt(model) ? (
            <div className="field">
              <label htmlFor="negative-prompt">Negative prompt (optional)</label>
              <textarea
                id="negative-prompt"
                name="negativePrompt"
                rows={2}
                value={form.negativePrompt}
                onChange={(e) => update("negativePrompt", e.target.value)}
                placeholder="blurry, low quality"
                aria-invalid={shown.negativePrompt ? true : undefined}
                aria-describedby={shown.negativePrompt ? "negative-error" : undefined}
              />
              {shown.negativePrompt ? (
                <small id="negative-error" className="field-error">
                  {shown.negativePrompt}
                </small>
              ) : null}
            </div>
          ) : (
            <p className="field-note" data-testid="no-negative-prompt">
              No negative prompt: {model?.name ?? "this model"} does not take one. Say only what you want to see.
            </p>
          )}
          <div className="grid-2">
            <div className="field">
              <label htmlFor="size">Size</label>
              <select id="size" name="size" value={form.size} onChange={(e) => update("size", e.target.value)}>
                <option value="default">Model default{model ? ` (${model.nativeWidth} × ${model.nativeHeight})` : ""}</option>
                {SIZES.filter((s) => s !== "default" && s !== "custom" && (!model || fits(s, model))).map((s) => (
                  <option key={s} value={s}>
                    {s.replace("x", " × ")}
                  </option>
                ))}
                <option value="custom">Custom…</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="scheduler">Scheduler</label>
              <select id="scheduler" name="scheduler" value={form.scheduler} onChange={(e) => update("scheduler", e.target.value as Scheduler)}
                aria-invalid={shown.scheduler ? true : undefined}
                aria-describedby={shown.scheduler ? "scheduler-error" : undefined}>
                {(model?.schedulers ?? (["DEFAULT"] as Scheduler[])).map((name) => (
                  <option key={name} value={name}>
                    {SCHEDULER_NAMES[name]}
                  </option>
                ))}
              </select>
              {shown.scheduler ? <small id="scheduler-error" className="field-error">{shown.scheduler}</small> : null}
            </div>
          </div>
          {custom || shown.width || shown.height ? (
            <div className="grid-2">
              <Field label="Width (px)" name="width" type="number" inputMode="numeric" min={LIMITS.minSide} max={model?.maxWidth ?? LIMITS.maxSide} step={step}
                value={form.width} onChange={(e) => { update("width", e.target.value); update("size", "custom"); }} error={shown.width}
                hint={`A multiple of ${step}.`} />
              <Field label="Height (px)" name="height" type="number" inputMode="numeric" min={LIMITS.minSide} max={model?.maxHeight ?? LIMITS.maxSide} step={step}
                value={form.height} onChange={(e) => { update("height", e.target.value); update("size", "custom"); }} error={shown.height}
                hint={`A multiple of ${step}.`} />
            </div>
          ) : null}
          <div className="grid-3">
            <Field label="Steps" name="steps" type="number" inputMode="numeric" min={1} max={model?.maxSteps ?? LIMITS.maxSteps} value={form.steps}
              onChange={(e) => update("steps", e.target.value)} error={shown.steps} />
            <Field label="Guidance" name="guidanceScale" type="number" inputMode="decimal" min={0} max={LIMITS.maxGuidance} step={0.5}
              value={form.guidanceScale} placeholder="Default" onChange={(e) => update("guidanceScale", e.target.value)} error={shown.guidanceScale} />
            <Field label="Images" name="numImages" type="number" inputMode="numeric" min={1} max={LIMITS.maxImages} value={form.numImages}
              onChange={(e) => update("numImages", e.target.value)} error={shown.numImages} />
          </div>
          {model?.supportsClones !== false ? (
            <div className="field">
              <label htmlFor="clone">Clone</label>
              <select id="clone" name="cloneId" value={form.cloneId} onChange={(e) => update("cloneId", e.target.value)}
                aria-invalid={shown.cloneId ? true : undefined}
                aria-describedby={shown.cloneId ? "clone-error" : undefined}>
                <option value="">None (base model)</option>
                {readyClones.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name} ({c.triggerWord})
                  </option>
                ))}
              </select>
              {shown.cloneId ? <small id="clone-error" className="field-error">{shown.cloneId}</small> : null}
            </div>
          ) : null}
          {takesImage ? (
            <details className="image-input" open={Boolean(form.initImage || shown.initImage || shown.mask || shown.strength) || undefined}>
              <summary>Start from an image (optional)</summary>
              <div className="field">
                <label htmlFor="init-image">Start image</label>
                <input id="init-image" ref={initImageInput} type="file" name="initImage" accept="image/png,image/jpeg,image/webp"
                  onChange={(e) => update("initImage", e.target.files?.[0] ?? null)}
                  aria-invalid={shown.initImage ? true : undefined}
                  aria-describedby={shown.initImage ? "init-image-error" : "init-image-hint"} />
                {shown.initImage ? (
                  <small id="init-image-error" className="field-error">{shown.initImage}</small>
                ) : (
                  <small id="init-image-hint">
                    {model?.modes.includes("IMAGE_TO_IMAGE") ? "The image is redrawn from your prompt" : "Inpainting only: add a mask"}; PNG, JPEG or WebP,
                    deleted when the job ends.
                  </small>
                )}
              </div>
              {form.initImage || shown.strength || shown.mask ? (
                <div className="grid-2">
                  <Field label="Strength" name="strength" type="number" inputMode="decimal" min={0} max={1} step={0.05} placeholder="Default"
                    value={form.strength} onChange={(e) => update("strength", e.target.value)} error={shown.strength}
                    hint="0 keeps the image, 1 ignores it." />
                  {model?.modes.includes("INPAINT") ? (
                    <div className="field">
                      <label htmlFor="mask">Mask (inpainting)</label>
                      <input id="mask" ref={maskInput} type="file" name="mask" accept="image/png,image/jpeg,image/webp"
                        onChange={(e) => update("mask", e.target.files?.[0] ?? null)}
                        aria-invalid={shown.mask ? true : undefined}
                        aria-describedby={shown.mask ? "mask-error" : "mask-hint"} />
                      {shown.mask ? (
                        <small id="mask-error" className="field-error">{shown.mask}</small>
                      ) : (
                        <small id="mask-hint">White is repainted, black kept.</small>
                      )}
                    </div>
                  ) : null}
                </div>
              ) : null}
            </details>
          ) : null}
          <fieldset className="seed">
            <legend>Seed</legend>
            <label htmlFor="random-seed">
              <input id="random-seed" type="checkbox" role="switch" checked={form.randomSeed}
                onChange={(e) => update("randomSeed", e.target.checked)} />
              Random seed
            </label>
            {!form.randomSeed || shown.seed ? (
              <Field label="Seed value" name="seed" type="number" inputMode="numeric" min={0} max={LIMITS.maxSeed} value={form.seed}
                onChange={(e) => update("seed", e.target.value)} error={shown.seed} hint="The same seed and settings give the same image." />
            ) : null}
          </fieldset>
          <div className="cost" aria-live="polite">
            <span>
              Cost:{" "}
              <strong data-testid="estimate">
                {estimate.cost !== null ? formatCredits(estimate.cost) : estimate.busy ? "…" : "—"}
              </strong>
            </span>
            {me ? (
              <span>
                You have <strong data-testid="available-credits">{formatCredits(me.credits)}</strong>
                {me.heldCredits ? ` (${me.heldCredits} held by running work)` : ""}.{" "}
                <Link href="/credits">Buy more</Link>
              </span>
            ) : null}
            {!sendable ? (
              <small>Correct the marked fields to see the cost.</small>
            ) : estimate.error && Object.keys(errors).length === 0 ? (
              <small className="field-error">{estimate.error}</small>
            ) : null}
          </div>
          <ErrorNote>{formError}</ErrorNote>
          <button type="submit" disabled={generateState.fetching || running} aria-busy={generateState.fetching || undefined}>
            {running ? "Generating…" : "Generate"}
          </button>
        </form>
        <div className="card output" aria-live="polite" ref={output}>
          {live ? (
            <JobView state={live} model={modelName(models, job?.model)} cancel={cancel} canceling={cancelState.fetching}
              reuseSeed={(seed) => setForm((f) => ({ ...f, randomSeed: false, seed: String(seed) }))}
              dismiss={() => { setJob(null); navigate("/", { replace: true }); }} />
          ) : (
            <div className="placeholder">
              <p>Your images appear here as they form.</p>
              <p className="small-print">Tip: the same seed and settings give the same image; turn off “Random seed” to reuse one.</p>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}

function JobView({
  state,
  model,
  cancel,
  canceling,
  reuseSeed,
  dismiss,
}: {
  state: JobState;
  /** The name of the model that runs the job. */
  model: string;
  cancel: () => void;
  canceling: boolean;
  reuseSeed: (seed: number) => void;
  dismiss: () => void;
}) {
  const done = isTerminal(state.status);
  const latestPreview = state.previews[state.previews.length - 1];
  return (
    <div
      className="job"
      data-testid="job"
      data-job-id={state.jobId}
      data-status={state.status}
      data-last-seq={state.lastSeq}
      data-previews={state.previewCount}
      data-duplicates={state.duplicates}
      data-steps={state.steps.join(",")}
      data-reconnects={state.reconnects}
    >
      <div className="job-head">
        <StatusBadge status={state.status} />
        {model ? (
          <span className="job-model" data-testid="job-model">
            {model}
          </span>
        ) : null}
        {state.status === "QUEUED" ? (
          <span data-testid="queue-position">
            {state.queuePosition === null ? "Waiting for a worker" : state.queuePosition === 0 ? "Next in the queue" : `Position in queue: ${state.queuePosition}`}
          </span>
        ) : null}
        {state.connection === "reconnecting" ? (
          <span className="reconnecting" role="status">
            Connection lost; reconnecting…
          </span>
        ) : null}
      </div>
      {!done || state.status === "CANCELED" ? (
        <div className="progress-block">
          <progress value={state.step} max={Math.max(state.totalSteps, 1)} aria-label="Generation progress" />
          <p className="progress-text" data-testid="progress-text">
            Step {state.step}/{state.totalSteps}
            {!done && state.status === "RUNNING" ? ` · ${formatEta(state.etaSeconds)}` : ""}
          </p>
        </div>
      ) : null}
      {!done && latestPreview ? (
        <figure className="preview">
          <img src={latestPreview.url} alt={`Preview at step ${latestPreview.step}`} data-testid="preview" />
          <figcaption>Preview at step {latestPreview.step}</figcaption>
        </figure>
      ) : null}
      {!done ? (
        <button type="button" className="secondary" onClick={cancel} disabled={canceling} aria-busy={canceling || undefined}>
          Cancel
        </button>
      ) : null}
      {state.status === "SUCCEEDED" ? (
        <div className="results">
          {state.images.map((image, i) => (
            <figure key={image.url}>
              <img src={image.url} alt={`Result ${i + 1}, seed ${image.seed}`} width={image.width} height={image.height} data-testid="result-image" />
              <figcaption>
                <a href={image.url} download={`neurall-${state.jobId}-${i + 1}.png`} role="button" className="small">
                  Download
                </a>
                <button type="button" className="secondary outline small" onClick={() => reuseSeed(image.seed)}>
                  Reuse seed {image.seed}
                </button>
              </figcaption>
            </figure>
          ))}
        </div>
      ) : null}
      {state.status === "FAILED" ? <ErrorNote>{state.error ?? "The job failed. Its credits were returned."}</ErrorNote> : null}
      {state.status === "CANCELED" ? <p role="status">Canceled. Credits for the steps not run were returned.</p> : null}
      {state.connection === "closed" && state.connectionError && !done ? <ErrorNote>{state.connectionError}</ErrorNote> : null}
      {done ? (
        <p>
          <Link href="/history">See it in your history</Link> ·{" "}
          <button type="button" className="link" onClick={dismiss}>
            Clear
          </button>
        </p>
      ) : null}
    </div>
  );
}
