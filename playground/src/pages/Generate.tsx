import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { CloneMix } from "../components/CloneMix";
import { JobView, PRIORITY_NAMES } from "../components/JobView";
import { ModelPicker } from "../components/ModelPicker";
import { StartImagePicker } from "../components/StartImagePicker";
import { ErrorNote, Field } from "../components/ui";
import type { JobFieldsFragment, JobPriority, Scheduler } from "../gql/graphql";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatCredits } from "../lib/format";
import { DEFAULTS, FORM_FIELDS, SIZES, checkForm, checkPictures, fetchStartImage, fits, formFromJob, toInput, withModel } from "../lib/generateForm";
import type { FormState } from "../lib/generateForm";
import { isTerminal, useJobEvents } from "../lib/jobEvents";
import { LIMITS } from "../lib/limits";
import type { JobState } from "../lib/jobEvents";
import { SCHEDULER_NAMES, modelName, sizeStep, takesNegativePrompt, useModels } from "../lib/models";
import { CancelJobMutation, ClonesQuery, EstimateCostQuery, GenerateMutation, JobQuery } from "../lib/operations";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";

const ACTIVE_JOB_KEY = "neurall.activeJob";
const PHONE = "(max-width: 900px)";

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
  // The job as the server tells it once it has ended (what it finally cost).
  const [ended, setEnded] = useState<JobFieldsFragment | null>(null);
  const [endedAt, setEndedAt] = useState(0);
  // The form as it was sent, start image and mask included: "Generate again" and "Use as
  // start" begin from it (the server deleted the pictures when the job ended).
  const [sentForm, setSentForm] = useState<FormState | null>(null);
  const [generateState, generate] = useMutation(GenerateMutation);
  const [cancelState, cancelJob] = useMutation(CancelJobMutation);
  const [clones] = useQuery({ query: ClonesQuery });
  const { models, fetching: modelsFetching, error: modelsError, refresh: refreshModels } = useModels();
  const model = models.find((m) => m.id === form.model) ?? null;
  const output = useRef<HTMLElement>(null);
  // A clone works only with the model it was trained on.
  const readyClones = useMemo(
    () => (clones.data?.clones ?? []).filter((c) => c.status === "READY" && (!form.model || c.baseModel === form.model)),
    [clones.data, form.model],
  );

  const clearErrors = (...keys: string[]) =>
    setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !keys.some((key) => k === key || k.startsWith(`${key}.`)))));
  const update = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    clearErrors(key);
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
    // Whether it is loaded may have changed since the catalog was read.
    refreshModels();
    setForm((f) => withModel(f, chosen));
    setErrors({});
  };

  // "Generate again" from the history (?again=<job id>, its seed kept), "Use as start" on a
  // history image (&start=<index>: the image is fetched again), and "Generate with this
  // clone" (?clone=<id>).
  const again = location.search.get("again");
  const startIndex = location.search.get("start");
  const cloneParam = location.search.get("clone");
  // Each link is followed once, not again when the catalog or the clones are asked again.
  const followed = useRef({ again: "", clone: "" });
  useEffect(() => {
    // After the catalog, so that the model's native size reads as its default.
    const link = again ? `${again}:${startIndex}` : "";
    if (!link || models.length === 0 || followed.current.again === link) {
      if (!link) followed.current.again = "";
      return;
    }
    followed.current.again = link;
    const current = () => followed.current.again === link;
    void client
      .query(JobQuery, { id: again ?? "" }, { requestPolicy: "network-only" })
      .toPromise()
      .then(async (result) => {
        const found = result.data?.job;
        const restored = found ? formFromJob(found, true, models) : null;
        if (!found || !restored || !current()) return;
        setForm(restored);
        const image = startIndex === null ? undefined : found.images[Number(startIndex)];
        if (!image) return;
        try {
          const initImage = await fetchStartImage(image.url, `start-${found.id}.png`, "an image from your history");
          if (!current()) return;
          setForm((f) => ({ ...f, mode: f.mode === "TEXT_TO_IMAGE" ? "IMAGE_TO_IMAGE" : f.mode, initImage, mask: null }));
        } catch (error) {
          setErrors({ initImage: errorMessage(error) });
        }
      });
  }, [again, startIndex, client, models]);
  useEffect(() => {
    if (!cloneParam) {
      followed.current.clone = "";
      return;
    }
    const clone = clones.data?.clones.find((c) => c.id === cloneParam);
    const base = models.find((m) => m.id === clone?.baseModel);
    if (!clone || !base || followed.current.clone === cloneParam) return;
    followed.current.clone = cloneParam;
    setForm((f) => ({
      ...(f.model === base.id ? f : withModel(f, base)),
      adapters: [{ cloneId: clone.id, weight: "1" }],
      prompt: f.prompt || `a photo of ${clone.triggerWord}`,
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
    (state: JobState) => {
      window.sessionStorage.removeItem(ACTIVE_JOB_KEY);
      refresh();
      setEndedAt(Date.now());
      // What it finally cost is on the job, not in its events.
      void client
        .query(JobQuery, { id: state.jobId }, { requestPolicy: "network-only" })
        .toPromise()
        .then((result) => setEnded(result.data?.job ?? null));
    },
    [refresh, client],
  );
  const live = useJobEvents(job, onEnd);
  // A model that was cold is loaded once a job has run on it: the catalog is asked again,
  // and once more a little later (the server keeps its answer for a couple of seconds).
  useEffect(() => {
    if (!endedAt) return;
    refreshModels();
    const timer = window.setTimeout(refreshModels, 3000);
    return () => window.clearTimeout(timer);
  }, [endedAt, refreshModels]);

  const focusInvalid = () => window.requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());

  /** Sends ``sent`` (the form, or the form "Generate again" restored). */
  const send = async (sent: FormState) => {
    setErrors({});
    setFormError("");
    const sentModel = models.find((m) => m.id === sent.model) ?? null;
    const missing = checkPictures(sent);
    if (Object.keys(checkForm(sent, sentModel)).length || Object.keys(missing).length) {
      setErrors(missing);
      focusInvalid();
      return;
    }
    const result = await generate({ input: toInput(sent, sentModel), idempotencyKey: newKey() });
    // Each InvalidInput message beside its own field; the rest (none of the form's) above
    // the button.
    const data = answerOf(result, (d) => d.generate, { error: setFormError, fields: setErrors, shown: FORM_FIELDS });
    if (!data) {
      focusInvalid();
      return;
    }
    window.sessionStorage.setItem(ACTIVE_JOB_KEY, data.id);
    setJob(data);
    setEnded(null);
    setSentForm(sent);
    refresh();
    // Focus moves to the job's region. On a phone the job sits below the form: it
    // scrolls into view; on a desktop it sits beside the form and stays there.
    window.requestAnimationFrame(() => {
      const phone = window.matchMedia(PHONE).matches;
      output.current?.focus({ preventScroll: !phone });
      if (phone) output.current?.scrollIntoView({ block: "start" });
    });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void send(form);
  };

  /** The parameters of the job shown: as sent from this page, else as the server kept
   * them (a new seed either way, unless the seed was fixed). */
  const jobForm = (): FormState | null => {
    if (sentForm) return sentForm;
    const known = ended ?? job;
    return known ? formFromJob(known, false, models) : null;
  };
  const generateAgain = () => {
    const restored = jobForm();
    if (!restored) return;
    setForm(restored);
    void send(restored);
  };
  const useAsStart = async (index: number) => {
    const image = live?.images[index];
    const restored = jobForm();
    if (!image || !restored) return;
    try {
      const initImage = await fetchStartImage(image.url, `start-${live.jobId}.png`, "a result of yours");
      setForm({ ...restored, mode: restored.mode === "TEXT_TO_IMAGE" ? "IMAGE_TO_IMAGE" : restored.mode, initImage, mask: null });
      setErrors({});
      window.requestAnimationFrame(() => {
        document.getElementById("start-image")?.scrollIntoView({ block: "start" });
        document.getElementById("strength")?.focus({ preventScroll: true });
      });
    } catch (error) {
      setFormError(errorMessage(error));
    }
  };

  const cancel = async () => {
    if (!job) return;
    answerOf(await cancelJob({ id: job.id }), (d) => d.cancelJob, { error: setFormError });
    refresh();
  };

  const running = live !== null && !isTerminal(live.status);
  // What the server said wins; until it says anything, the form's own checks.
  const shown: Record<string, string> = { ...problems, ...errors };
  const custom = form.size === "custom";
  const step = sizeStep(model);
  const shownJob = ended ?? job;

  return (
    <section className="generate">
      <hgroup>
        <h1>Generate</h1>
        <p>Describe an image; watch it form step by step. Your prompts and images are kept in your history until you delete them.</p>
      </hgroup>
      <div className="generate-grid">
        <form onSubmit={submit} noValidate aria-label="Generation settings" className="card">
          <ModelPicker models={models} model={model} fetching={modelsFetching} error={shown.model || modelsError} onChange={chooseModel} />
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
            <CloneMix clones={readyClones} value={form.adapters} errors={shown}
              onChange={(adapters) => { update("adapters", adapters); clearErrors("cloneId"); }} />
          ) : null}
          <StartImagePicker model={model} mode={form.mode} image={form.initImage} strength={form.strength} errors={shown}
            onMode={(mode) => { setForm((f) => ({ ...f, mode, mask: mode === "INPAINT" ? f.mask : null })); clearErrors("initImage", "mask", "strength"); }}
            onImage={(image) => { setForm((f) => ({ ...f, initImage: image, mask: null })); clearErrors("initImage", "mask"); }}
            onStrength={(value) => update("strength", value)}
            onMask={(mask) => { setForm((f) => (f.mask === mask ? f : { ...f, mask })); clearErrors("mask"); }} />
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
          <fieldset className="priority" aria-describedby="priority-hint">
            <legend>Priority</legend>
            {(["STANDARD", "BATCH"] as JobPriority[]).map((p) => (
              <label key={p} htmlFor={`priority-${p}`}>
                <input id={`priority-${p}`} type="radio" name="priority" value={p} checked={form.priority === p}
                  onChange={() => update("priority", p)} />
                {PRIORITY_NAMES[p]}
                {model ? ` · ${formatCredits(p === "BATCH" ? model.batchCreditsPerImage : model.creditsPerImage)}/image` : ""}
              </label>
            ))}
            <small id="priority-hint">
              {form.priority === "BATCH"
                ? "Batch runs only while no standard job waits for this model, at a discount. It may wait for hours."
                : "Standard runs as soon as a GPU is free."}
            </small>
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
            {model && model.state !== "READY" ? (
              <small data-testid="model-wait">
                {model.name} is {model.state === "COLD" ? "not loaded: the first job waits while it loads" : "loading: jobs wait until it is ready"}.
              </small>
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
        <section className="card output" aria-label="Progress and results" tabIndex={-1} ref={output} data-testid="output">
          <div aria-live="polite">
            {live && shownJob ? (
              <JobView state={live} model={modelName(models, shownJob.model)} priority={shownJob.priority} held={shownJob.heldCredits}
                cost={isTerminal(live.status) ? (ended?.costCredits ?? null) : null}
                cancel={cancel} canceling={cancelState.fetching}
                reuseSeed={(seed) => setForm((f) => ({ ...f, randomSeed: false, seed: String(seed) }))}
                again={shownJob.params || sentForm ? generateAgain : null}
                useAsStart={(index) => void useAsStart(index)}
                dismiss={() => { setJob(null); setEnded(null); setSentForm(null); navigate("/", { replace: true }); }} />
            ) : (
              <div className="placeholder">
                <p>Your images appear here as they form.</p>
                <p className="small-print">Tip: the same seed and settings give the same image; turn off “Random seed” to reuse one.</p>
              </div>
            )}
          </div>
        </section>
      </div>
    </section>
  );
}
