import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { useMutation } from "urql";
import { ResendButton } from "../components/EmailVerification";
import { ErrorNote, Field, SuccessNote } from "../components/ui";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatDate } from "../lib/format";
import type { EmailNotice } from "../gql/graphql";
import { ChangePasswordMutation, SetEmailNoticeMutation, UpdateProfileMutation } from "../lib/operations";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";

export function AccountPage() {
  const { me } = useSession();
  if (!me) return null;
  return (
    <section>
      <hgroup>
        <h1>Account</h1>
        <p>
          Member since {formatDate(me.createdAt)}. For exports, marketing e-mails and deletion, see <Link href="/privacy">Privacy</Link>.
        </p>
      </hgroup>
      <EmailStatus />
      <div className="grid-2 cards">
        <ProfileForm />
        <PasswordForm />
      </div>
      <Notices />
    </section>
  );
}

/** Whether the address is confirmed, and a change waiting for its confirmation. */
function EmailStatus() {
  const { me, refresh } = useSession();
  const [, updateProfile] = useMutation(UpdateProfileMutation);
  const [error, setError] = useState("");
  if (!me) return null;
  // Asking for the current address again cancels a pending change.
  const cancelChange = async () => {
    setError("");
    const result = await updateProfile({ input: { email: me.email } });
    if (result.error) setError(errorMessage(result.error));
    refresh();
  };
  return (
    <article className="card email-status" id="email" aria-labelledby="email-title" data-testid="email-status">
      <h2 id="email-title">E-mail address</h2>
      <p>
        <strong>{me.email}</strong>{" "}
        {me.emailVerified ? (
          <span className="badge badge-succeeded">Confirmed</span>
        ) : (
          <span className="badge badge-queued">Not confirmed yet</span>
        )}
      </p>
      {!me.emailVerified && !me.pendingEmail ? (
        <p>Open the link we sent to this address to confirm it; the banner above sends it again.</p>
      ) : null}
      {me.pendingEmail ? (
        <div className="notice notice-info" data-testid="pending-email">
          <p>
            Change to <strong>{me.pendingEmail}</strong> pending: confirm it from the link sent to {me.pendingEmail}. Until
            then, {me.email} stays your address.
          </p>
          <p className="actions">
            <ResendButton label="Send it again" />
            <button type="button" className="secondary outline small" onClick={cancelChange}>
              Cancel the change
            </button>
          </p>
        </div>
      ) : null}
      <ErrorNote>{error}</ErrorNote>
    </article>
  );
}

function ProfileForm() {
  const { me, refresh } = useSession();
  const [name, setName] = useState(me?.name ?? "");
  const [email, setEmail] = useState(me?.email ?? "");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const [state, updateProfile] = useMutation(UpdateProfileMutation);
  useEffect(() => {
    setName(me?.name ?? "");
    setEmail(me?.email ?? "");
  }, [me?.name, me?.email]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError("");
    setSaved("");
    const data = answerOf(await updateProfile({ input: { name, email } }), (d) => d.updateProfile, {
      error: setError,
      fields: setFields,
      shown: ["name", "email"],
    });
    if (data) {
      // A new address is only asked for: it replaces the old one once confirmed.
      setSaved(
        data.pendingEmail && data.pendingEmail !== me?.pendingEmail
          ? `Saved. Confirm the new address from the link we sent to ${data.pendingEmail}; until then, ${data.email} stays your address.`
          : "Your profile was updated.",
      );
      setEmail(data.email);
      refresh();
    }
  };
  return (
    <form onSubmit={submit} noValidate className="card" id="profile" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <p>Correct your name or e-mail address at any time.</p>
      <Field label="Name" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} />
      <Field label="E-mail" name="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={fields.email} />
      <SuccessNote>{saved}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
      <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
        Save profile
      </button>
    </form>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const [state, changePassword] = useMutation(ChangePasswordMutation);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError("");
    setSaved("");
    const result = await changePassword({ currentPassword: current, newPassword: next });
    const data = answerOf(result, (d) => d.changePassword, {
      error: setError,
      fields: setFields,
      shown: ["currentPassword", "newPassword"],
    });
    if (data) {
      setSaved("Password changed. Your other sessions were signed out.");
      setCurrent("");
      setNext("");
    }
  };
  return (
    <form onSubmit={submit} noValidate className="card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <p>Other devices signed in to your account are signed out; API keys keep working.</p>
      <Field label="Current password" name="currentPassword" type="password" autoComplete="current-password" value={current}
        onChange={(e) => setCurrent(e.target.value)} error={fields.currentPassword} />
      <Field label="New password" name="newPassword" type="password" autoComplete="new-password" minLength={10} value={next}
        onChange={(e) => setNext(e.target.value)} error={fields.newPassword} hint="At least 10 characters." />
      <SuccessNote>{saved}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
      <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
        Change password
      </button>
    </form>
  );
}

const NOTICES: { notice: EmailNotice; label: string }[] = [
  { notice: "CLONES", label: "A clone finished training (or failed)" },
  { notice: "RECEIPTS", label: "A receipt for credits you bought" },
  { notice: "LOW_CREDITS", label: "Your credits are running low" },
];

/** Which notice e-mails go out, and below how many credits "running low" fires. */
function Notices() {
  const { me, refresh } = useSession();
  const [threshold, setThreshold] = useState(me?.lowCreditThreshold?.toString() ?? "");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const [, setNotice] = useMutation(SetEmailNoticeMutation);
  const [switched, setSwitched] = useState<Partial<Record<EmailNotice, boolean>>>({});
  const [state, updateProfile] = useMutation(UpdateProfileMutation);
  useEffect(() => setThreshold(me?.lowCreditThreshold?.toString() ?? ""), [me?.lowCreditThreshold]);
  if (!me) return null;
  const on = new Set(me.emailNotices);
  const toggle = async (notice: EmailNotice, label: string, enabled: boolean) => {
    setError("");
    setSaved("");
    // The switch moves at once; it goes back if the server refuses.
    setSwitched((s) => ({ ...s, [notice]: enabled }));
    const data = answerOf(await setNotice({ notice, enabled }), (d) => d.setEmailNotice, { error: setError });
    if (!data) setSwitched((s) => ({ ...s, [notice]: !enabled }));
    if (data) {
      setSaved(`${enabled ? "On" : "Off"}: “${label}” e-mails.`);
      refresh();
    }
  };
  const saveThreshold = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError("");
    setSaved("");
    const text = threshold.trim();
    const value = text === "" ? null : Number(text);
    if (value !== null && (!Number.isInteger(value) || value < 0 || value > 2_147_483_647)) {
      setFields({ lowCreditThreshold: "Enter a whole number of credits, 0 or more, or leave it empty to turn it off." });
      return;
    }
    const data = answerOf(await updateProfile({ input: { lowCreditThreshold: value } }), (d) => d.updateProfile, {
      error: setError,
      fields: setFields,
      shown: ["lowCreditThreshold"],
    });
    if (data) {
      setSaved(
        data.lowCreditThreshold === null || data.lowCreditThreshold === undefined
          ? "The low-credit notice and the CREDITS_LOW webhook are off."
          : `You are told when your credits fall below ${data.lowCreditThreshold.toLocaleString()}.`,
      );
      refresh();
    }
  };
  return (
    <article className="card" id="notices" aria-labelledby="notices-title">
      <h2 id="notices-title">Notices by e-mail</h2>
      <p>
        Security notices (password or address changed, a new API key) always go out. Marketing e-mail has its own switch on
        the <Link href="/privacy#marketing">Privacy</Link> page.
      </p>
      <fieldset>
        <legend className="visually-hidden">Notice e-mails</legend>
        {NOTICES.map(({ notice, label }) => (
          <label key={notice} htmlFor={`notice-${notice}`}>
            <input
              id={`notice-${notice}`}
              type="checkbox"
              role="switch"
              checked={switched[notice] ?? on.has(notice)}
              onChange={(e) => void toggle(notice, label, e.target.checked)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <form onSubmit={saveThreshold} noValidate className="buy-row">
        <Field label="Low-credit threshold" name="lowCreditThreshold" type="number" inputMode="numeric" min={0}
          value={threshold} onChange={(e) => setThreshold(e.target.value)} error={fields.lowCreditThreshold}
          hint="When your available credits fall below this, you get the notice (if on) and a CREDITS_LOW webhook. Empty: off." />
        <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
          Save threshold
        </button>
      </form>
      <SuccessNote>{saved}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
    </article>
  );
}
