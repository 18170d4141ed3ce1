// A forgotten password: ask for a link (always the same answer, as the API gives), then
// choose a new password from the mailed link, which signs the user in.
import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation } from "urql";
import { ErrorNote, Field, SuccessNote } from "../components/ui";
import { answerOf } from "../lib/answer";
import { resetSocket } from "../lib/client";
import { forgetEmailLink, useEmailLink } from "../lib/emailLinks";
import { RequestPasswordResetMutation, ResetPasswordMutation } from "../lib/operations";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";

export function ForgotPasswordPage() {
  const { me } = useSession();
  const [email, setEmail] = useState(me?.email ?? "");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [sent, setSent] = useState("");
  const [state, requestReset] = useMutation(RequestPasswordResetMutation);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError("");
    setSent("");
    if (!email.trim()) {
      setFields({ email: "Enter the e-mail address of your account." });
      return;
    }
    const data = answerOf(await requestReset({ email }), (d) => d.requestPasswordReset, {
      error: setError,
      fields: setFields,
      shown: ["email"],
    });
    if (data) setSent(data.message);
  };
  return (
    <section className="auth">
      <article>
        <header>
          <h1>Forgot your password?</h1>
          <p>Enter the e-mail address of your account. We send it a link to choose a new password.</p>
        </header>
        {sent ? (
          <>
            <SuccessNote>{sent}</SuccessNote>
            <p>
              Nothing after a few minutes? Check the spam folder, or make sure the address is the one you signed up with.{" "}
              <button type="button" className="link" onClick={() => setSent("")}>
                Try another address
              </button>
            </p>
          </>
        ) : (
          <form onSubmit={submit} noValidate>
            <Field label="E-mail" name="email" type="email" autoComplete="email" required value={email}
              onChange={(e) => setEmail(e.target.value)} error={fields.email} />
            <ErrorNote>{error}</ErrorNote>
            <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
              Send me a link
            </button>
          </form>
        )}
        <footer>
          <p>
            Remembered it? <Link href="/login">Log in</Link>
          </p>
        </footer>
      </article>
    </section>
  );
}

export function ResetPasswordPage() {
  const link = useEmailLink("reset-password");
  const { refresh } = useSession();
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [linkDead, setLinkDead] = useState(false);
  const [done, setDone] = useState(false);
  const [state, resetPassword] = useMutation(ResetPasswordMutation);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!link) return;
    setFields({});
    setError("");
    if (password.length < 10) {
      setFields({ newPassword: "Passwords are 10 to 256 characters long." });
      return;
    }
    const result = await resetPassword({ token: link.token, newPassword: password });
    const data = answerOf(result, (d) => d.resetPassword, { error: setError, fields: setFields, shown: ["newPassword"] });
    if (data) {
      forgetEmailLink();
      resetSocket();
      setDone(true);
      refresh();
    } else {
      // A refused link (used, expired) cannot work again: offer a new one.
      const answer = result.data?.resetPassword;
      setLinkDead(answer?.__typename === "InvalidInput" && answer.fields.includes("token"));
    }
  };

  return (
    <section className="auth">
      <article>
        <header>
          <h1>Choose a new password</h1>
          <p>Your other devices are signed out; API keys keep working.</p>
        </header>
        {done ? (
          <>
            <SuccessNote>Your password was changed, and you are signed in.</SuccessNote>
            <p>
              <Link href="/" role="button">
                Start generating
              </Link>
            </p>
          </>
        ) : !link ? (
          <p role="alert" className="notice notice-info">
            This page works from the link in the e-mail we sent you. Open it again, or{" "}
            <Link href="/forgot-password">ask for a new link</Link>.
          </p>
        ) : (
          <form onSubmit={submit} noValidate>
            <Field label="New password" name="newPassword" type="password" autoComplete="new-password" required minLength={10}
              value={password} onChange={(e) => setPassword(e.target.value)} error={fields.newPassword} hint="At least 10 characters." />
            <ErrorNote>
              {error ? (
                <>
                  {error}
                  {linkDead ? (
                    <>
                      {" "}
                      <Link href="/forgot-password">Ask for a new link</Link>.
                    </>
                  ) : null}
                </>
              ) : null}
            </ErrorNote>
            <button type="submit" disabled={state.fetching || linkDead} aria-busy={state.fetching || undefined}>
              Set the new password
            </button>
          </form>
        )}
      </article>
    </section>
  );
}
