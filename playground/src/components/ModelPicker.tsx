// The Generate form's model select, fed by `models`: each model's price per image and
// whether it is loaded (a COLD model makes its first job wait for a load).
import type { ModelState } from "../gql/graphql";
import { FAMILY_NAMES, modelOption } from "../lib/models";
import type { Model } from "../lib/models";

export const STATE_NOTES: Record<ModelState, string> = {
  READY: "Loaded: jobs start without waiting for a load.",
  LOADING: "Loading now: jobs wait in the queue until it is ready.",
  COLD: "Not loaded: the first job waits while it loads (its time left counts the load).",
};

/** "Tiny SDXL — 1 credit/image · not loaded (wait)": the option, with a wait said in words. */
function optionText(model: Model): string {
  const wait = model.state === "COLD" ? " · not loaded (wait)" : model.state === "LOADING" ? " · loading (wait)" : "";
  return modelOption(model) + wait;
}

export function ModelPicker({
  models,
  model,
  fetching,
  error,
  onChange,
}: {
  models: Model[];
  model: Model | null;
  fetching: boolean;
  /** What the server said about the model (InvalidInput), or why the catalog failed. */
  error: string;
  onChange: (id: string) => void;
}) {
  const described = [model ? "model-about" : "", error ? "model-error" : ""].filter(Boolean).join(" ");
  return (
    <div className="field model-picker">
      <label htmlFor="model">Model</label>
      <select id="model" name="model" value={model?.id ?? ""} onChange={(e) => onChange(e.target.value)} disabled={models.length === 0}
        aria-invalid={error ? true : undefined} aria-describedby={described || undefined}>
        {models.length ? (
          models.map((m) => (
            <option key={m.id} value={m.id}>
              {optionText(m)}
            </option>
          ))
        ) : (
          <option value="">{fetching ? "Loading models…" : "The server's default"}</option>
        )}
      </select>
      {model ? (
        <small id="model-about" className="model-about" data-testid="model-about">
          {model.description ? <span>{model.description}</span> : null}
          <span className="model-facts">
            {FAMILY_NAMES[model.family]} · native {model.nativeWidth} × {model.nativeHeight}, up to{" "}
            {model.maxWidth.toLocaleString("en")} × {model.maxHeight.toLocaleString("en")} · {model.defaultSteps} steps by default, up
            to {model.maxSteps}
          </span>
          <span className={`model-state model-state-${model.state.toLowerCase()}`} data-testid="model-state">
            {STATE_NOTES[model.state]}
          </span>
        </small>
      ) : null}
      {error ? (
        <small id="model-error" className="field-error">
          {error}
        </small>
      ) : null}
    </div>
  );
}
