import { useEffect, useRef, useState } from "react";
import type { DragEvent, FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { ConfirmDialog, Empty, ErrorNote, Field, Loading, StatusBadge } from "../components/ui";
import type { CloneFieldsFragment } from "../gql/graphql";
import { errorMessage, subscribe } from "../lib/client";
import { answerOf } from "../lib/answer";
import { formatCredits, formatDate } from "../lib/format";
import { LIMITS, checkWhole } from "../lib/limits";
import {
  CloneEventsSubscription,
  ClonesQuery,
  CreateCloneMutation,
  DeleteCloneMutation,
  EstimateCloneCostQuery,
} from "../lib/operations";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";

const MIN_PHOTOS = 3;
const MAX_PHOTOS = 20;
const MAX_BYTES = 10 * 1024 * 1024;
const TYPES = ["image/jpeg", "image/png", "image/webp"];

interface Photo {
  file: File;
  url: string;
  problem: string | null;
}

function check(file: File): string | null {
  if (file.type && !TYPES.includes(file.type)) return "Not a JPEG, PNG or WebP image.";
  if (file.size > MAX_BYTES) return "Larger than 10 MB.";
  return null;
}

export function ClonesPage() {
  const [clones, reexecute] = useQuery({ query: ClonesQuery, requestPolicy: "cache-and-network" });
  const reload = () => reexecute({ requestPolicy: "network-only" });
  const list = clones.data?.clones ?? [];
  return (
    <section>
      <hgroup>
        <h1>Clones</h1>
        <p>
          Upload 3 to 20 photos of one person or thing; Neurall trains a small model on them. The photos are deleted as soon
          as training ends, success or not; the trained clone is kept until you delete it.
        </p>
      </hgroup>
      <CreateClone onCreated={reload} />
      <h2>Your clones</h2>
      {clones.fetching && !clones.data ? <Loading what="your clones" /> : null}
      {clones.error ? <ErrorNote>{errorMessage(clones.error)}</ErrorNote> : null}
      {clones.data && list.length === 0 ? <Empty>No clones yet. Add photos above to train your first one.</Empty> : null}
      <div className="clone-list">
        {list.map((clone) => (
          <CloneCard key={clone.id} clone={clone} onDeleted={reload} />
        ))}
      </div>
    </section>
  );
}

function CreateClone({ onCreated }: { onCreated: () => void }) {
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [name, setName] = useState("");
  const [triggerWord, setTriggerWord] = useState("");
  const [trainingSteps, setTrainingSteps] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [dragging, setDragging] = useState(false);
  const [state, createClone] = useMutation(CreateCloneMutation);
  const { refresh } = useSession();
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => () => photos.forEach((p) => URL.revokeObjectURL(p.url)), [photos]);

  // Photos dragged in join those already there; choosing photos replaces the choice, as a
  // file picker does everywhere else.
  const add = (files: FileList | File[], replace = false) => {
    const added = Array.from(files).map((file) => ({ file, url: URL.createObjectURL(file), problem: check(file) }));
    setPhotos((prev) => [...(replace ? [] : prev), ...added].slice(0, MAX_PHOTOS));
    setErrors((e) => ({ ...e, images: "" }));
  };
  // What training would hold, before it starts (with the server's default steps if empty).
  const stepsValue = trainingSteps.trim() && !checkWhole(trainingSteps, 1, LIMITS.maxTrainingSteps, "Training steps") ? Number(trainingSteps) : null;
  const [estimate] = useQuery({
    query: EstimateCloneCostQuery,
    variables: { images: Math.max(photos.length, MIN_PHOTOS), trainingSteps: stepsValue },
    requestPolicy: "cache-first",
  });
  const cost = estimate.data?.estimateCloneCost;
  const { me } = useSession();
  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length) add(event.dataTransfer.files);
  };
  const remove = (index: number) => setPhotos((prev) => prev.filter((_, i) => i !== index));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setError("");
    // Everything the form can tell before sending, each beside its own field.
    const problems: Record<string, string> = {};
    const stepsProblem = checkWhole(trainingSteps, 1, LIMITS.maxTrainingSteps, "Training steps");
    if (stepsProblem) problems.trainingSteps = stepsProblem;
    if (photos.length < MIN_PHOTOS || photos.length > MAX_PHOTOS) {
      problems.images = `Add ${MIN_PHOTOS} to ${MAX_PHOTOS} photos (you have ${photos.length}).`;
    } else if (photos.some((p) => p.problem)) {
      problems.images = "Remove the photos marked with a problem first.";
    }
    if (Object.keys(problems).length) {
      setErrors(problems);
      return;
    }
    const steps = trainingSteps.trim() ? Number(trainingSteps) : null;
    const result = await createClone({
      input: { name, triggerWord: triggerWord.trim() || null, trainingSteps: steps },
      images: photos.map((p) => p.file),
    });
    const data = answerOf(result, (d) => d.createClone, {
      error: setError,
      fields: (byField) => {
        // Per-file errors ("images.3") are shown on the photo they name.
        setPhotos((prev) => prev.map((p, i) => (byField[`images.${i}`] ? { ...p, problem: byField[`images.${i}`] } : p)));
        setErrors(byField);
      },
      shown: ["name", "triggerWord", "trainingSteps", "images", "images."],
    });
    if (data) {
      setPhotos([]);
      setName("");
      setTriggerWord("");
      setTrainingSteps("");
      onCreated();
      refresh();
    }
  };

  return (
    <form onSubmit={submit} className="card" noValidate aria-labelledby="new-clone-title">
      <h2 id="new-clone-title">New clone</h2>
      <div className="grid-3 stack-phone">
        <Field label="Name" name="cloneName" required value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
        <Field label="Trigger word (optional)" name="triggerWord" value={triggerWord} onChange={(e) => setTriggerWord(e.target.value)}
          error={errors.triggerWord} hint="Letters, digits, _ or -; we pick one if empty." />
        <Field label="Training steps (optional)" name="trainingSteps" type="number" inputMode="numeric" min={1} max={LIMITS.maxTrainingSteps} value={trainingSteps}
          onChange={(e) => setTrainingSteps(e.target.value)} error={errors.trainingSteps} />
      </div>
      <div
        className={dragging ? "dropzone dragging" : "dropzone"}
        onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
        data-testid="dropzone"
      >
        <p>Drag 3 to 20 photos here (JPEG, PNG or WebP, up to 10 MB each; dragging more adds to them), or</p>
        <label htmlFor="clone-photos" role="button" className="secondary" tabIndex={0}
          onKeyDown={(e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.current?.click(); } }}>
          Choose photos
        </label>
        <input ref={input} id="clone-photos" type="file" accept="image/jpeg,image/png,image/webp" multiple className="visually-hidden"
          tabIndex={-1} onChange={(e) => { if (e.target.files?.length) add(e.target.files, true); e.target.value = ""; }} />
        {errors.images ? <p className="field-error" role="alert">{errors.images}</p> : null}
      </div>
      {photos.length ? (
        <ul className="thumbs" aria-label={`${photos.length} photos chosen`}>
          {photos.map((p, i) => (
            <li key={p.url} className={p.problem ? "thumb bad" : "thumb"} data-testid="thumb">
              <img
                src={p.url}
                alt={p.file.name}
                onError={(e) => {
                  // Not an image the browser can show: an empty frame instead of a broken icon.
                  e.currentTarget.style.visibility = "hidden";
                }}
              />
              <span className="thumb-name">{p.file.name}</span>
              {p.problem ? <small className="field-error">{p.problem}</small> : null}
              <button type="button" className="link small" onClick={() => remove(i)} aria-label={`Remove ${p.file.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <p className="small-print" data-testid="clone-cost" aria-live="polite">
        {cost === undefined
          ? "Working out what training costs…"
          : `Training ${photos.length >= MIN_PHOTOS ? `on ${photos.length} photos` : `on ${MIN_PHOTOS} photos (the fewest)`} costs ${formatCredits(cost)}, held when it starts${me ? `; you have ${formatCredits(me.credits)}` : ""}.`}
      </p>
      <ErrorNote>{error}</ErrorNote>
      <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
        Train clone
      </button>
    </form>
  );
}

function CloneCard({ clone: initial, onDeleted }: { clone: CloneFieldsFragment; onDeleted: () => void }) {
  const [clone, setClone] = useState(initial);
  const [losses, setLosses] = useState<{ step: number; loss: number }[]>([]);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState("");
  const [deleteState, deleteClone] = useMutation(DeleteCloneMutation);
  const { refresh } = useSession();
  const training = clone.status === "QUEUED" || clone.status === "TRAINING";

  useEffect(() => setClone(initial), [initial]);
  useEffect(() => {
    if (!(initial.status === "QUEUED" || initial.status === "TRAINING")) return;
    let stopped = false;
    let timer: number | undefined;
    let sub: { unsubscribe(): void } | null = null;
    const connect = () => {
      sub = subscribe(
        CloneEventsSubscription,
        { cloneId: initial.id },
        (data) => {
          const next = data.cloneEvents;
          setClone(next);
          if (next.loss !== null && next.loss !== undefined && next.step > 0) {
            const loss = next.loss;
            setLosses((prev) => (prev.length && prev[prev.length - 1].step >= next.step ? prev : [...prev, { step: next.step, loss }]));
          }
          if (next.status === "READY" || next.status === "FAILED") refresh();
        },
        (err) => {
          // A dropped socket: the subscription starts again from the clone's current state.
          if (!stopped && err) timer = window.setTimeout(connect, 1000);
        },
      );
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      sub?.unsubscribe();
    };
  }, [initial.id, initial.status, refresh]);

  const remove = async () => {
    const result = await deleteClone({ id: clone.id });
    setConfirm(false);
    if (answerOf(result, (d) => d.deleteClone, { error: setError })) {
      refresh();
      onDeleted();
    }
  };

  return (
    <article className="clone" data-testid="clone-card" data-status={clone.status} aria-labelledby={`clone-${clone.id}`}>
      <header className="clone-head">
        <h3 id={`clone-${clone.id}`}>{clone.name}</h3>
        <StatusBadge status={clone.status} />
        {clone.sourceImagesDeleted ? <span className="badge badge-info" data-testid="photos-deleted">Photos deleted</span> : null}
      </header>
      <p className="small-print">
        Trigger word <code>{clone.triggerWord}</code> · {clone.imageCount} photos · created {formatDate(clone.createdAt)}
      </p>
      {training || losses.length ? (
        <>
          <progress value={clone.step} max={Math.max(clone.totalSteps, 1)} aria-label={`Training progress of ${clone.name}`} />
          <p className="progress-text">
            Step {clone.step}/{clone.totalSteps}
            {clone.loss !== null && clone.loss !== undefined ? ` · loss ${clone.loss.toFixed(4)}` : ""}
          </p>
          <LossChart points={losses} name={clone.name} />
        </>
      ) : null}
      {clone.status === "READY" && !losses.length && clone.loss !== null && clone.loss !== undefined ? (
        <p className="small-print">Trained for {clone.totalSteps} steps; final loss {clone.loss.toFixed(4)}.</p>
      ) : null}
      {clone.error ? <ErrorNote>{clone.error}</ErrorNote> : null}
      <ErrorNote>{error}</ErrorNote>
      <footer className="actions">
        {clone.status === "READY" ? (
          <Link href={`/?clone=${encodeURIComponent(clone.id)}`} role="button" className="small">
            Generate with it
          </Link>
        ) : null}
        <button type="button" className="danger outline small" onClick={() => setConfirm(true)}>
          Delete
        </button>
      </footer>
      <ConfirmDialog open={confirm} title={`Delete “${clone.name}”?`} confirmLabel="Delete clone" onConfirm={remove} onCancel={() => setConfirm(false)} busy={deleteState.fetching}>
        <p>The trained model is deleted for good{training ? "; training stops and its credits are returned" : ""}.</p>
      </ConfirmDialog>
    </article>
  );
}

/** The training loss as a line: a picture of the trend, not a table of numbers. */
function LossChart({ points, name }: { points: { step: number; loss: number }[]; name: string }) {
  const width = 480;
  const height = 140;
  const pad = 24;
  if (points.length < 2) {
    return <p className="small-print">The loss chart draws as training steps arrive.</p>;
  }
  const maxStep = Math.max(...points.map((p) => p.step));
  const minStep = Math.min(...points.map((p) => p.step));
  const losses = points.map((p) => p.loss);
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const x = (s: number) => pad + ((s - minStep) / Math.max(maxStep - minStep, 1)) * (width - 2 * pad);
  const y = (l: number) => pad / 2 + (1 - (l - lo) / span) * (height - pad * 1.5);
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(" ");
  const first = points[0].loss;
  const last = points[points.length - 1].loss;
  return (
    <figure className="chart loss-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" data-testid="loss-chart" data-points={points.length}
        aria-label={`Training loss of ${name} over ${points.length} steps, from ${first.toFixed(3)} to ${last.toFixed(3)}`}>
        <line x1={pad} x2={width - pad} y1={height - pad} y2={height - pad} className="grid-line" />
        <text x={pad} y={height - 6} className="axis-label">step {minStep}</text>
        <text x={width - pad} y={height - 6} textAnchor="end" className="axis-label">step {maxStep}</text>
        <text x={4} y={pad / 2 + 4} className="axis-label">{hi.toFixed(3)}</text>
        <text x={4} y={height - pad - 4} className="axis-label">{lo.toFixed(3)}</text>
        <path d={d} className="loss-line" fill="none" />
      </svg>
      <figcaption>Training loss (lower is better)</figcaption>
    </figure>
  );
}
