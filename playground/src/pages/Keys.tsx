import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { SecretPanel } from "../components/SecretPanel";
import { ConfirmDialog, Empty, ErrorNote, Field, Loading, SuccessNote } from "../components/ui";
import type { ApiKeyFieldsFragment, ApiKeyScope, SpendPeriod } from "../gql/graphql";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatCredits, formatDate } from "../lib/format";
import {
  ApiKeysQuery,
  CreateApiKeyMutation,
  RegenerateApiKeyMutation,
  RevokeApiKeyMutation,
  SetApiKeySpendLimitMutation,
} from "../lib/operations";

const SCOPES: { scope: ApiKeyScope; label: string }[] = [
  { scope: "GENERATE", label: "Generate: start, follow and cancel jobs" },
  { scope: "READ", label: "Read: account, credits, usage and clones" },
  { scope: "CLONE", label: "Clone: create and delete clones" },
  { scope: "WEBHOOKS", label: "Webhooks: manage webhook endpoints and their deliveries" },
];

export function KeysPage() {
  const [keys, reexecute] = useQuery({ query: ApiKeysQuery, requestPolicy: "cache-and-network" });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<ApiKeyScope[]>(["GENERATE", "READ", "CLONE"]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [confirm, setConfirm] = useState<{ key: ApiKeyFieldsFragment; action: "revoke" | "regenerate" } | null>(null);
  const [limiting, setLimiting] = useState<string | null>(null);
  const [createState, createKey] = useMutation(CreateApiKeyMutation);
  const [revokeState, revokeKey] = useMutation(RevokeApiKeyMutation);
  const [regenState, regenerateKey] = useMutation(RegenerateApiKeyMutation);
  const reload = () => reexecute({ requestPolicy: "network-only" });

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setError("");
    if (scopes.length === 0) {
      setErrors({ scopes: "Choose at least one scope." });
      return;
    }
    const data = answerOf(await createKey({ name, scopes }), (d) => d.createApiKey, {
      error: setError,
      fields: setErrors,
      shown: ["name", "scopes"],
    });
    if (data) {
      setSecret({ name: data.apiKey.name, secret: data.secret });
      setName("");
      reload();
    }
  };

  const act = async () => {
    if (!confirm) return;
    const { key, action } = confirm;
    setError("");
    if (action === "revoke") {
      answerOf(await revokeKey({ id: key.id }), (d) => d.revokeApiKey, { error: setError });
    } else {
      const data = answerOf(await regenerateKey({ id: key.id }), (d) => d.regenerateApiKey, { error: setError });
      if (data) setSecret({ name: data.apiKey.name, secret: data.secret });
    }
    setConfirm(null);
    reload();
  };

  const list = keys.data?.apiKeys ?? [];
  const active = list.filter((k) => !k.revokedAt);
  const revoked = list.filter((k) => k.revokedAt);

  return (
    <section>
      <hgroup>
        <h1>API keys</h1>
        <p>
          Keys let your own applications call the GraphQL API with <code>Authorization: Bearer nk_…</code>. Jobs made with a key are
          not kept in your history: their prompts are never stored and their images are deleted once fetched.
        </p>
      </hgroup>
      {secret ? (
        <SecretPanel title={`Your new key “${secret.name}”`} label="Secret key" secret={secret.secret} onDone={() => setSecret(null)}>
          Copy it now: this is the only time it is shown. We keep only a hash of it, so it cannot be recovered; if you lose it,
          regenerate the key.
        </SecretPanel>
      ) : null}
      <form onSubmit={create} className="card" aria-labelledby="new-key-title" noValidate>
        <h2 id="new-key-title">Create a key</h2>
        <Field label="Name" name="keyName" required value={name} onChange={(e) => setName(e.target.value)} error={errors.name}
          placeholder="e.g. production server" hint="Something that tells you where the key is used." />
        <fieldset aria-describedby={errors.scopes ? "scopes-error" : undefined}>
          <legend>Scopes</legend>
          {SCOPES.map(({ scope, label }) => (
            <label key={scope} htmlFor={`scope-${scope}`}>
              <input
                id={`scope-${scope}`}
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))}
              />
              {label}
            </label>
          ))}
          {errors.scopes ? <small id="scopes-error" className="field-error">{errors.scopes}</small> : null}
        </fieldset>
        <ErrorNote>{error}</ErrorNote>
        <button type="submit" disabled={createState.fetching} aria-busy={createState.fetching || undefined}>
          Create key
        </button>
      </form>
      <h2>Your keys</h2>
      {keys.fetching && !keys.data ? <Loading what="your keys" /> : null}
      {keys.error ? <ErrorNote>{errorMessage(keys.error)}</ErrorNote> : null}
      {keys.data && active.length === 0 ? <Empty>You have no active keys. Create one above to call the API from your code.</Empty> : null}
      {active.length ? (
        <KeyTable
          keys={active}
          onAction={(key, action) => (action === "limit" ? setLimiting(key.id) : setConfirm({ key, action }))}
        />
      ) : null}
      {active.find((k) => k.id === limiting) ? (
        <SpendLimitForm key={limiting} apiKey={active.find((k) => k.id === limiting)!} onSaved={reload} onClose={() => setLimiting(null)} />
      ) : null}
      {revoked.length ? (
        <details>
          <summary>Revoked keys ({revoked.length})</summary>
          <KeyTable keys={revoked} />
        </details>
      ) : null}
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.action === "revoke" ? `Revoke “${confirm.key.name}”?` : `Regenerate “${confirm?.key.name ?? ""}”?`}
        confirmLabel={confirm?.action === "revoke" ? "Revoke key" : "Regenerate key"}
        onConfirm={act}
        onCancel={() => setConfirm(null)}
        busy={revokeState.fetching || regenState.fetching}
      >
        <p>
          {confirm?.action === "revoke"
            ? "Requests with this key fail from the very next one. This cannot be undone."
            : "The current secret stops working at once and a new one with the same name and scopes is shown once."}
        </p>
      </ConfirmDialog>
    </section>
  );
}

type KeyAction = "revoke" | "regenerate" | "limit";

const PERIOD_WORDS: Record<SpendPeriod, string> = { DAY: "day", MONTH: "month" };

/** "12 of 100 credits this day, resets ..." or that the key has no cap of its own. */
function spendText(key: ApiKeyFieldsFragment): string {
  const limit = key.spendLimit;
  if (!limit) return "No limit";
  return `${limit.spent.toLocaleString()} of ${formatCredits(limit.credits)} per ${PERIOD_WORDS[limit.period]}; resets ${formatDate(limit.resetsAt)}`;
}

function KeyTable({ keys, onAction }: { keys: ApiKeyFieldsFragment[]; onAction?: (key: ApiKeyFieldsFragment, action: KeyAction) => void }) {
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            {onAction ? <th scope="col">Spend limit</th> : null}
            {onAction ? <th scope="col"><span className="visually-hidden">Actions</span></th> : <th scope="col">Revoked</th>}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id} data-testid="api-key-row">
              <td>{key.name}</td>
              <td>
                <code>{key.prefix}…</code>
              </td>
              <td>{key.scopes.map((s) => s.toLowerCase()).join(", ")}</td>
              <td>{formatDate(key.createdAt)}</td>
              <td>{formatDate(key.lastUsedAt)}</td>
              {onAction ? <td data-testid="spend-limit">{spendText(key)}</td> : null}
              {onAction ? (
                <td className="row-actions">
                  <button type="button" className="secondary outline small" onClick={() => onAction(key, "limit")} aria-label={`Spend limit of ${key.name}`}>
                    Limit
                  </button>
                  <button type="button" className="secondary outline small" onClick={() => onAction(key, "regenerate")} aria-label={`Regenerate ${key.name}`}>
                    Regenerate
                  </button>
                  <button type="button" className="danger outline small" onClick={() => onAction(key, "revoke")} aria-label={`Revoke ${key.name}`}>
                    Revoke
                  </button>
                </td>
              ) : (
                <td>{formatDate(key.revokedAt)}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Sets, changes or clears one key's spending cap. */
function SpendLimitForm({ apiKey, onSaved, onClose }: { apiKey: ApiKeyFieldsFragment; onSaved: () => void; onClose: () => void }) {
  const [credits, setCredits] = useState(apiKey.spendLimit ? String(apiKey.spendLimit.credits) : "");
  const [period, setPeriod] = useState<SpendPeriod>(apiKey.spendLimit?.period ?? "DAY");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const [state, setLimit] = useMutation(SetApiKeySpendLimitMutation);
  const send = async (value: number | null) => {
    setFields({});
    setError("");
    setSaved("");
    const data = answerOf(await setLimit({ id: apiKey.id, limit: { credits: value, period } }), (d) => d.setApiKeySpendLimit, {
      error: setError,
      fields: (byField) => setFields({ credits: Object.values(byField).join(" ") }),
      shown: ["limit.credits", "limit.", "credits"],
    });
    if (data) {
      setSaved(data.spendLimit ? `Saved: ${spendText(data)}.` : "The limit is removed; your credits still bound the key.");
      if (!data.spendLimit) setCredits("");
      onSaved();
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = Number(credits);
    if (!credits.trim() || !Number.isInteger(value) || value < 1) {
      setFields({ credits: "Enter a whole number of credits, 1 or more." });
      return;
    }
    void send(value);
  };
  return (
    <form onSubmit={submit} className="card" noValidate aria-labelledby="limit-title">
      <h2 id="limit-title">Spend limit of “{apiKey.name}”</h2>
      <p>
        The most credits this key may spend (charged or held) per period; a request past it is refused with{" "}
        <code>SpendLimitReached</code>. {apiKey.spendLimit ? `Now: ${spendText(apiKey)}.` : "It has no limit now."}
      </p>
      <div className="grid-2 stack-phone">
        <Field label="Credits" name="limitCredits" type="number" inputMode="numeric" min={1} value={credits}
          onChange={(e) => setCredits(e.target.value)} error={fields.credits} />
        <div className="field">
          <label htmlFor="limit-period">Per</label>
          <select id="limit-period" value={period} onChange={(e) => setPeriod(e.target.value as SpendPeriod)}>
            <option value="DAY">day (UTC)</option>
            <option value="MONTH">month (UTC)</option>
          </select>
        </div>
      </div>
      <SuccessNote>{saved}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
      <div className="form-actions">
        <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
          Save limit
        </button>
        {apiKey.spendLimit ? (
          <button type="button" className="secondary outline" onClick={() => void send(null)} disabled={state.fetching}>
            Remove limit
          </button>
        ) : null}
        <button type="button" className="secondary outline" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
