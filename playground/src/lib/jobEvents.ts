// Follows one job's events over the socket. After a dropped connection it resubscribes
// with afterSeq = the last seq it applied, so every step arrives exactly once: the server
// skips what was seen, and anything repeated anyway is ignored by seq.
import { useEffect, useRef, useState } from "react";
import type { JobEventsSubscription as JobEvent, JobFieldsFragment } from "../gql/graphql";
import { errorMessage, subscribe } from "./client";
import type { Subscription } from "./client";
import { JobEventsSubscription } from "./operations";

type Event = JobEvent["jobEvents"];
type Image = Event["images"][number];

export interface JobState {
  jobId: string;
  status: Event["status"];
  step: number;
  totalSteps: number;
  progress: number;
  etaSeconds: number | null;
  queuePosition: number | null;
  previews: { url: string; step: number }[];
  images: Image[];
  error: string | null;
  lastSeq: number;
  previewCount: number;
  /** Events received again (and ignored). */
  duplicates: number;
  steps: number[];
  reconnects: number;
  connection: "connecting" | "live" | "reconnecting" | "closed";
  connectionError: string | null;
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELED"]);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

export function initialState(job: JobFieldsFragment): JobState {
  return {
    jobId: job.id,
    status: job.status,
    step: job.step,
    totalSteps: job.totalSteps,
    progress: job.progress,
    etaSeconds: job.etaSeconds ?? null,
    queuePosition: job.queuePosition ?? null,
    previews: [],
    images: job.images,
    error: job.error ?? null,
    lastSeq: 0,
    previewCount: 0,
    duplicates: 0,
    steps: [],
    reconnects: 0,
    connection: isTerminal(job.status) ? "closed" : "connecting",
    connectionError: null,
  };
}

function apply(state: JobState, event: Event): JobState {
  const next: JobState = {
    ...state,
    status: event.status,
    step: event.step,
    totalSteps: event.totalSteps,
    progress: event.progress,
    etaSeconds: event.etaSeconds ?? null,
    queuePosition: event.queuePosition ?? null,
    error: event.error ?? state.error,
    lastSeq: event.seq,
    connection: "live",
    connectionError: null,
  };
  if (event.type === "PROGRESS") next.steps = [...state.steps, event.step];
  if (event.preview) {
    next.previews = [...state.previews, { url: event.preview.url, step: event.step }].slice(-8);
    next.previewCount = state.previewCount + 1;
  }
  if (event.images.length) next.images = event.images;
  if (isTerminal(event.status)) next.connection = "closed";
  return next;
}

/** Live state of `job`; `onEnd` runs once when the job reaches a final status. */
export function useJobEvents(job: JobFieldsFragment | null, onEnd?: (state: JobState) => void): JobState | null {
  const [state, setState] = useState<JobState | null>(job ? initialState(job) : null);
  const stateRef = useRef<JobState | null>(state);
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;

  useEffect(() => {
    if (!job) {
      stateRef.current = null;
      setState(null);
      return;
    }
    let current = initialState(job);
    const set = (next: JobState) => {
      current = next;
      stateRef.current = next;
      setState(next);
    };
    set(current);
    if (isTerminal(job.status)) return;
    let active: Subscription | null = null;
    let timer: number | undefined;
    let attempts = 0;
    let stopped = false;

    const connect = () => {
      active = subscribe(
        JobEventsSubscription,
        { jobId: job.id, afterSeq: current.lastSeq > 0 ? current.lastSeq : null },
        (data) => {
          const event = data.jobEvents;
          if (event.seq <= current.lastSeq) {
            set({ ...current, duplicates: current.duplicates + 1 });
            return;
          }
          attempts = 0;
          const wasTerminal = isTerminal(current.status);
          set(apply(current, event));
          if (!wasTerminal && isTerminal(event.status)) onEndRef.current?.(current);
        },
        (error) => {
          active = null;
          if (stopped || isTerminal(current.status)) return;
          // The stream ended before the job did: the socket dropped. Resume after a short,
          // growing pause, from the last event applied.
          attempts += 1;
          if (attempts > 30) {
            set({ ...current, connection: "closed", connectionError: errorMessage(error) });
            return;
          }
          set({
            ...current,
            connection: "reconnecting",
            reconnects: current.reconnects + 1,
            connectionError: error ? errorMessage(error) : null,
          });
          timer = window.setTimeout(connect, Math.min(250 * 2 ** (attempts - 1), 5000));
        },
      );
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      active?.unsubscribe();
    };
  }, [job]);

  return state;
}
