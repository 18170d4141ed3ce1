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

/** What the app needs of an InvalidInput answer. */
export interface InvalidInputAnswer {
  message: string;
  fields: readonly string[];
  errors: readonly { field: string; message: string }[];
}

/** A field path as the forms key it: "input.width" is "width", "images.3" stays. */
export function fieldKey(path: string): string {
  const parts = path.split(".");
  return parts[0] === "input" ? parts.slice(1).join(".") : path;
}

/** InvalidInput's per-field messages, each for the form field that shows it (``shown``
 * lists the keys the form has; a key ending in "." takes every path under it, as
 * "images." does), and a summary of the rest: only what no field of the form can show. */
export function invalidInput(
  answer: InvalidInputAnswer,
  shown: readonly string[],
): { fields: Record<string, string>; summary: string } {
  const fields: Record<string, string> = {};
  const rest: string[] = [];
  for (const error of answer.errors) {
    const key = fieldKey(error.field);
    if (shown.some((s) => s === key || (s.endsWith(".") && key.startsWith(s)))) fields[key] = error.message;
    else rest.push(error.message);
  }
  if (answer.errors.length === 0) rest.push(answer.message);
  return { fields, summary: [...new Set(rest)].join(" ") };
}
