// Up to four of the caller's READY clones at once (GenerateInput.adapters), each with its
// weight: 0 leaves it out, 1 is as trained, 2 doubles it.
import type { CloneFieldsFragment } from "../gql/graphql";
import { MAX_CLONES } from "../lib/generateForm";
import type { ClonePick } from "../lib/generateForm";

export function CloneMix({
  clones,
  value,
  onChange,
  errors,
}: {
  /** The clones on offer: READY, trained on the chosen model. */
  clones: CloneFieldsFragment[];
  value: ClonePick[];
  onChange: (next: ClonePick[]) => void;
  /** Messages by field key: "adapters", "adapters.0.weight", "cloneId". */
  errors: Record<string, string>;
}) {
  const set = (index: number, pick: Partial<ClonePick>) => onChange(value.map((p, i) => (i === index ? { ...p, ...pick } : p)));
  const unused = clones.filter((c) => !value.some((p) => p.cloneId === c.id));
  const add = () => {
    const next = unused[0];
    if (next) onChange([...value, { cloneId: next.id, weight: "1" }]);
  };
  const general = errors.adapters || errors.cloneId;
  return (
    <fieldset className="clone-mix" aria-describedby={general ? "clones-error" : "clones-hint"}>
      <legend>Clones</legend>
      {value.map((pick, i) => {
        const n = i + 1;
        const weightError = errors[`adapters.${i}.weight`];
        const cloneError = errors[`adapters.${i}.cloneId`] || errors[`adapters.${i}`];
        return (
          <div className="clone-row" key={i} data-testid="clone-row">
            <div className="field">
              <label htmlFor={`clone-${n}`}>Clone {n}</label>
              <select id={`clone-${n}`} value={pick.cloneId} onChange={(e) => set(i, { cloneId: e.target.value })}
                aria-invalid={cloneError ? true : undefined} aria-describedby={cloneError ? `clone-${n}-error` : undefined}>
                {clones
                  .filter((c) => c.id === pick.cloneId || !value.some((p) => p.cloneId === c.id))
                  .map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name} ({c.triggerWord})
                    </option>
                  ))}
              </select>
              {cloneError ? <small id={`clone-${n}-error`} className="field-error">{cloneError}</small> : null}
            </div>
            <div className="field">
              <label htmlFor={`clone-${n}-weight`}>Clone {n} weight</label>
              <div className="slider">
                <input id={`clone-${n}-weight`} type="range" min={0} max={2} step={0.05} value={pick.weight}
                  onChange={(e) => set(i, { weight: e.target.value })}
                  aria-invalid={weightError ? true : undefined} aria-describedby={weightError ? `clone-${n}-weight-error` : undefined} />
                <output htmlFor={`clone-${n}-weight`} data-testid="clone-weight">{Number(pick.weight).toFixed(2)}</output>
              </div>
              {weightError ? <small id={`clone-${n}-weight-error`} className="field-error">{weightError}</small> : null}
            </div>
            <button type="button" className="secondary outline small" onClick={() => onChange(value.filter((_, j) => j !== i))}>
              Remove clone {n}
            </button>
          </div>
        );
      })}
      {value.length < MAX_CLONES && unused.length ? (
        <button type="button" className="secondary outline small" onClick={add}>
          Add a clone
        </button>
      ) : null}
      {general ? (
        <small id="clones-error" className="field-error">{general}</small>
      ) : (
        <small id="clones-hint">
          {clones.length
            ? `Up to ${MAX_CLONES} of your ready clones trained on this model; weight 1 is the clone as trained, 0 leaves it out.`
            : "None of your clones is ready for this model. Train one on the Clones page."}
        </small>
      )}
    </fieldset>
  );
}
