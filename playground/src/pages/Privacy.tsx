import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { useClient, useMutation } from "urql";
import { ErrorNote, Field, SuccessNote } from "../components/ui";
import type { DataExportQuery as DataExportData } from "../gql/graphql";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatDate } from "../lib/format";
import { DataExportQuery, DeleteAccountMutation, RequestDataExportMutation, SetMarketingOptInMutation } from "../lib/operations";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";

type Export = NonNullable<DataExportData["dataExport"]>;

// The server has no "list my exports" query: the latest request's id is remembered in this
// browser so that its download survives a reload.
const exportKey = (accountId: string) => `neurall.export.${accountId}`;

export function PrivacyPage() {
  const { me } = useSession();
  if (!me) return null;
  return (
    <section className="privacy">
      <hgroup>
        <h1>Privacy</h1>
        <p>
          Your data, your requests. Each action here takes effect at once. To correct your name or e-mail, use{" "}
          <Link href="/account#profile">your account page</Link>.
        </p>
      </hgroup>
      <ExportSection accountId={me.id} />
      <MarketingSection />
      <CookiesSection />
      <DeleteSection />
    </section>
  );
}

/** What a visitor who is not signed in can read: the cookies, and where the requests are. */
export function PublicPrivacyPage() {
  return (
    <section className="privacy">
      <hgroup>
        <h1>Privacy</h1>
        <p>
          <Link href="/login">Log in</Link> to download a copy of your data, correct your profile, stop marketing e-mails or
          delete your account. Each request takes effect at once.
        </p>
      </hgroup>
      <p>
          Forgot your password? <Link href="/forgot-password">Reset it</Link> with your account’s e-mail address: we send it a
          link to choose a new one, and you are signed in.
      </p>
      <CookiesSection />
    </section>
  );
}

function ExportSection({ accountId }: { accountId: string }) {
  const client = useClient();
  const [current, setCurrent] = useState<Export | null>(null);
  const [error, setError] = useState("");
  const [requestState, requestExport] = useMutation(RequestDataExportMutation);
  const [exportId, setExportId] = useState<string | null>(() => window.localStorage.getItem(exportKey(accountId)));

  // Follows the export until it is ready (the zip is built in the background).
  useEffect(() => {
    if (!exportId) return;
    let stopped = false;
    let timer: number | undefined;
    const poll = async () => {
      const result = await client.query(DataExportQuery, { id: exportId }, { requestPolicy: "network-only" }).toPromise();
      if (stopped) return;
      if (result.error) {
        setError(errorMessage(result.error));
        return;
      }
      const found = result.data?.dataExport ?? null;
      setCurrent(found);
      if (!found) {
        window.localStorage.removeItem(exportKey(accountId));
        return;
      }
      if (found.status === "PENDING") timer = window.setTimeout(poll, 1000);
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [exportId, accountId, client]);

  const request = async () => {
    setError("");
    const data = answerOf(await requestExport({}), (d) => d.requestDataExport, { error: setError });
    if (data) {
      window.localStorage.setItem(exportKey(accountId), data.id);
      setCurrent(data);
      setExportId(data.id);
    }
  };

  return (
    <article id="export" aria-labelledby="export-title">
      <h2 id="export-title">Download your data</h2>
      <p>
        A zip of everything we hold about you: your account, API keys (never their secrets), credit ledger, purchases,
        history with its images, clones, API usage and security log.
      </p>
      {current ? (
        <div className="export-status" data-testid="export-status" data-status={current.status}>
          {current.status === "PENDING" ? <p aria-busy="true">Preparing your export…</p> : null}
          {current.status === "READY" && current.url ? (
            <p>
              Your export is ready until {formatDate(current.expiresAt)}.{" "}
              <a href={current.url} download role="button" data-testid="export-download">
                Download export (zip)
              </a>
            </p>
          ) : null}
          {current.status === "EXPIRED" ? <p>Your last export expired and was deleted. Request a new one.</p> : null}
          {current.status === "FAILED" ? <ErrorNote>Your last export could not be built. Please request a new one.</ErrorNote> : null}
        </div>
      ) : null}
      <ErrorNote>{error}</ErrorNote>
      <button type="button" onClick={request} disabled={requestState.fetching || current?.status === "PENDING"} aria-busy={requestState.fetching || undefined}>
        Request a data export
      </button>
    </article>
  );
}

function MarketingSection() {
  const { me, refresh } = useSession();
  const [state, setOptIn] = useMutation(SetMarketingOptInMutation);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  // The switch follows the click at once and goes back if the server refuses.
  const [checked, setChecked] = useState(me?.marketingOptIn ?? true);
  useEffect(() => {
    if (me) setChecked(me.marketingOptIn);
  }, [me]);
  if (!me) return null;
  const toggle = async (optIn: boolean) => {
    setError("");
    setSaved("");
    setChecked(optIn);
    const data = answerOf(await setOptIn({ optIn }), (d) => d.setMarketingOptIn, { error: setError });
    if (data) {
      setSaved(data.marketingOptIn ? "You will receive marketing e-mails." : "Done: you will not receive marketing e-mails.");
      refresh();
      return;
    }
    setChecked(!optIn);
  };
  return (
    <article id="marketing" aria-labelledby="marketing-title">
      <h2 id="marketing-title">Marketing e-mails</h2>
      <p>News about Neurall, at most a few times a month. Every such e-mail also has a one-click unsubscribe link.</p>
      <label htmlFor="marketing-toggle">
        <input id="marketing-toggle" type="checkbox" role="switch" checked={checked} aria-busy={state.fetching || undefined}
          onChange={(e) => toggle(e.target.checked)} />
        Send me marketing e-mails
      </label>
      <SuccessNote>{saved}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
    </article>
  );
}

function CookiesSection() {
  return (
    <article id="cookies" aria-labelledby="cookies-title">
      <h2 id="cookies-title">Cookies</h2>
      <p>
        Neurall sets exactly one cookie: the session cookie that keeps you signed in. It is strictly necessary, so it needs no
        consent; it cannot be read by scripts and is deleted when you log out or the session ends. There are no tracking,
        analytics or advertising cookies, and this app loads nothing from other sites. This browser also remembers, in its
        local storage, the id of your latest data export and of a job you are watching, so they survive a reload.
      </p>
    </article>
  );
}

function DeleteSection() {
  const [password, setPassword] = useState("");
  const [sure, setSure] = useState(false);
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [state, deleteAccount] = useMutation(DeleteAccountMutation);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError("");
    setFields({});
    if (!sure) {
      setFields({ sure: "Tick the box to confirm." });
      return;
    }
    const result = await deleteAccount({ password });
    if (answerOf(result, (d) => d.deleteAccount, { error: setError, fields: setFields, shown: ["password"] })) {
      // A fresh page: nothing of the erased account stays in memory.
      window.sessionStorage.clear();
      window.localStorage.clear();
      window.location.replace("/signup?deleted=1");
    }
  };
  return (
    <article id="delete" aria-labelledby="delete-title" className="danger-zone">
      <h2 id="delete-title">Delete your account</h2>
      <p>
        Deletes your profile, history and images, clones, API keys, exports and usage records, and signs you out everywhere.
        Running jobs are canceled. Payment records are kept without your name or e-mail, as the law requires. This cannot be
        undone.
      </p>
      <form onSubmit={submit} noValidate>
        <Field label="Your password" name="deletePassword" type="password" autoComplete="current-password" required value={password}
          onChange={(e) => setPassword(e.target.value)} error={fields.password} />
        <label htmlFor="delete-sure">
          <input id="delete-sure" type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)}
            aria-invalid={fields.sure ? true : undefined} aria-describedby={fields.sure ? "delete-sure-error" : undefined} />
          I understand that my account and data are deleted for good.
        </label>
        {fields.sure ? <small id="delete-sure-error" className="field-error">{fields.sure}</small> : null}
        <ErrorNote>{error}</ErrorNote>
        <button type="submit" className="danger" disabled={state.fetching} aria-busy={state.fetching || undefined}>
          Delete my account
        </button>
      </form>
    </article>
  );
}
