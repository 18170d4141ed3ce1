// The job being watched on the Generate page: status, model, priority and cost, progress,
// previews, cancel, and the results (flagged ones blurred, with why), each with Download,
// "Use as start" and "Reuse seed"; "Generate again" for the whole job.
import { ErrorNote, StatusBadge } from "./ui";
import type { JobPriority } from "../gql/graphql";
import { formatCredits, formatEta } from "../lib/format";
import { isTerminal } from "../lib/jobEvents";
import type { JobState } from "../lib/jobEvents";
import { Link } from "../lib/router";

export const PRIORITY_NAMES: Record<JobPriority, string> = { STANDARD: "Standard", BATCH: "Batch" };

export function JobView({
  state,
  model,
  priority,
  held,
  cost,
  cancel,
  canceling,
  reuseSeed,
  again,
  useAsStart,
  dismiss,
}: {
  state: JobState;
  /** The name of the model that runs the job. */
  model: string;
  priority: JobPriority;
  /** Credits held at submission. */
  held: number;
  /** Credits finally charged, once the job has ended and said so. */
  cost: number | null;
  cancel: () => void;
  canceling: boolean;
  reuseSeed: (seed: number) => void;
  /** Runs the same parameters again (a new seed unless the seed was fixed); null where the
   * job's parameters are not known to this page. */
  again: (() => void) | null;
  useAsStart: (index: number) => void;
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
        <span className="job-model" data-testid="job-priority">
          {PRIORITY_NAMES[priority]} priority
        </span>
        <span className="job-model" data-testid="job-cost">
          {cost !== null ? `Charged ${formatCredits(cost)}` : done ? "Settling…" : `${formatCredits(held)} held`}
        </span>
        {state.status === "QUEUED" ? (
          <span data-testid="queue-position">
            {state.queuePosition === null
              ? priority === "BATCH"
                ? "Waiting until no standard job waits"
                : "Waiting for a worker"
              : state.queuePosition === 0
                ? "Next in the queue"
                : `Position in queue: ${state.queuePosition}`}
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
            <figure key={image.url} className={image.flagged ? "flagged" : undefined}>
              <div className="result-frame">
                <img src={image.url} alt={`Result ${i + 1}, seed ${image.seed}${image.flagged ? ", flagged and blurred" : ""}`}
                  width={image.width} height={image.height} data-testid="result-image" data-flagged={image.flagged || undefined}
                  aria-describedby={image.flagged ? `flagged-${i}` : undefined} />
              </div>
              {image.flagged ? (
                <p className="flag-note" id={`flagged-${i}`} data-testid="flag-note">
                  Blurred: the safety checker flagged this image as possibly unsafe.
                </p>
              ) : null}
              <figcaption>
                <a href={image.url} download={`neurall-${state.jobId}-${i + 1}.png`} role="button" className="small">
                  Download
                </a>
                <button type="button" className="secondary outline small" onClick={() => useAsStart(i)}
                  aria-label={state.images.length > 1 ? `Use result ${i + 1} as start` : undefined}>
                  Use as start
                </button>
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
        <p className="job-actions">
          {again ? (
            <button type="button" className="small" onClick={again}>
              Generate again
            </button>
          ) : null}
          <Link href="/history">See it in your history</Link>
          <button type="button" className="link" onClick={dismiss}>
            Clear
          </button>
        </p>
      ) : null}
    </div>
  );
}
