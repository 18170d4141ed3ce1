import { useState } from "react";
import type { ReactNode } from "react";

/** A secret shown once (an API key, a webhook signing secret), with a copy button and the
 * warning in ``children``. */
export function SecretPanel({
  title,
  label,
  secret,
  onDone,
  children,
}: {
  title: string;
  label: string;
  secret: string;
  onDone: () => void;
  children: ReactNode;
}) {
  const [copied, setCopied] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("Copied to the clipboard.");
    } catch {
      setCopied("Copying was not allowed here; select the secret and copy it by hand.");
    }
  };
  return (
    <article className="secret" aria-labelledby="secret-title" data-testid="secret-panel">
      <h2 id="secret-title">{title}</h2>
      <p className="warning" role="alert">
        {children}
      </p>
      <div className="secret-row">
        <label htmlFor="secret-value" className="visually-hidden">
          {label}
        </label>
        <input id="secret-value" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} data-testid="secret" />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status">{copied}</p>
      <button type="button" className="secondary" onClick={onDone}>
        I have stored it safely
      </button>
    </article>
  );
}
