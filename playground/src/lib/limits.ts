// The server's bounds on numbers people type, checked in the form before anything is sent,
// so that a GraphQL variable error (a number outside a 32-bit Int) never reaches anyone.
// They are the server's defaults (neurall/generation/params.py, the clone and checkout
// settings); tests/playground/test_playground_build.py keeps them equal. A server set up
// with other bounds still answers InvalidInput, shown at the same field. The Generate form
// takes steps and sizes from the chosen model (`models`) and uses these only until it loads.
export const LIMITS = {
  minSide: 64,
  maxSide: 1024,
  maxSteps: 150,
  maxGuidance: 30,
  maxImages: 8,
  maxSeed: 2147483647,
  maxTrainingSteps: 2000,
  minCheckoutCredits: 100,
  maxCheckoutCredits: 100000,
} as const;

/** The number typed in ``value`` if it is a whole number within [min, max], else the
 * sentence to show beside the field. An empty value is fine (the server's default). */
export function checkWhole(value: string, min: number, max: number, what: string): string | null {
  const text = value.trim();
  if (text === "") return null;
  if (!/^-?\d+$/.test(text)) return `${what} must be a whole number.`;
  const n = Number(text);
  if (n < min || n > max) return `${what} must be between ${min.toLocaleString("en")} and ${max.toLocaleString("en")}.`;
  return null;
}

export function checkDecimal(value: string, min: number, max: number, what: string): string | null {
  const text = value.trim();
  if (text === "") return null;
  const n = Number(text);
  if (!Number.isFinite(n)) return `${what} must be a number.`;
  if (n < min || n > max) return `${what} must be between ${min} and ${max}.`;
  return null;
}
