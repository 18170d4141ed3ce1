export function formatDate(value: string | null | undefined): string {
  if (!value) return "never";
  const date = new Date(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatCredits(value: number): string {
  return `${value.toLocaleString()} credit${Math.abs(value) === 1 ? "" : "s"}`;
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "estimating the time left";
  if (seconds < 1) return "under a second left";
  if (seconds < 60) return `about ${Math.round(seconds)} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

/** Field paths of InvalidInput ("input.width", "images.3") keyed by their last part. */
export function fieldErrors(fields: readonly string[] | undefined, message: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields ?? []) {
    const parts = field.split(".");
    const key = parts[0] === "input" ? parts.slice(1).join(".") : field;
    out[key] = message;
  }
  return out;
}
