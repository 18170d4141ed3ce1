import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation } from "urql";
import { ErrorNote, Field, SuccessNote } from "../components/ui";
import { answerOf } from "../lib/answer";
import { resetSocket } from "../lib/client";
import { LogInMutation, SetMarketingOptInMutation, SignUpMutation } from "../lib/operations";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";

export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  // The privacy policy's default: marketing e-mail is on unless the person turns it off.
  const [marketing, setMarketing] = useState(true);
  const [signUpState, signUp] = useMutation(SignUpMutation);
  const [, setMarketingOptIn] = useMutation(SetMarketingOptInMutation);
  const [logInState, logIn] = useMutation(LogInMutation);
  const { refresh } = useSession();
  const { location, navigate } = useRouter();
  const busy = signUpState.fetching || logInState.fetching;
  const signup = mode === "signup";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError("");
    setFields({});
    // Every missing field at once, before anything is sent.
    const missing: Record<string, string> = {};
    if (!email.trim()) missing.email = "Enter your e-mail address.";
    if (!password) missing.password = signup ? "Choose a password of at least 10 characters." : "Enter your password.";
    if (Object.keys(missing).length) {
      setFields(missing);
      return;
    }
    const report = { error: setError, fields: setFields, shown: ["name", "email", "password"] };
    const data = signup
      ? answerOf(await signUp({ input: { email, password, name: name || null } }), (d) => d.signUp, report)
      : answerOf(await logIn({ email, password }), (d) => d.logIn, report);
    if (!data) return;
    if (signup && !marketing) await setMarketingOptIn({ optIn: false });
    resetSocket();
    if (location.path === "/login" || location.path === "/signup") navigate("/", { replace: true });
    refresh();
  };

  return (
    <section className="auth">
      <article>
        <header>
          <h1>{signup ? "Create your account" : "Log in to Neurall"}</h1>
          <p>
            {signup
              ? "New accounts start with free credits. Your prompts and images stay in your history until you delete them."
              : "Generate images, browse your history and manage your API keys."}
          </p>
        </header>
        {signup && location.search.get("deleted") ? (
          <SuccessNote>Your account and its data were deleted.</SuccessNote>
        ) : null}
        <form onSubmit={submit} noValidate>
          {signup ? (
            <Field label="Name (optional)" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} />
          ) : null}
          <Field
            label="E-mail"
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={fields.email}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete={signup ? "new-password" : "current-password"}
            required
            minLength={signup ? 10 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={fields.password}
            hint={signup ? "At least 10 characters." : undefined}
          />
          {signup ? (
            <div className="switch-row">
              <label htmlFor="signup-marketing">
                <input
                  id="signup-marketing"
                  type="checkbox"
                  role="switch"
                  checked={marketing}
                  onChange={(e) => setMarketing(e.target.checked)}
                  aria-describedby="signup-marketing-hint"
                />
                Send me news and offers
              </label>
              <small id="signup-marketing-hint">
                Marketing e-mail is on by default, as our privacy policy says. Turn it off here, or later on the Privacy page
                or from any such message’s unsubscribe link.
              </small>
            </div>
          ) : (
            <p className="forgot">
              <Link href="/forgot-password">Forgot password?</Link>
            </p>
          )}
          <ErrorNote>{error}</ErrorNote>
          <button type="submit" aria-busy={busy || undefined} disabled={busy}>
            {signup ? "Sign up" : "Log in"}
          </button>
        </form>
        <footer>
          {signup ? (
            <p>
              Already have an account? <Link href="/login">Log in</Link>
            </p>
          ) : (
            <p>
              New to Neurall? <Link href="/signup">Create an account</Link>
            </p>
          )}
        </footer>
      </article>
    </section>
  );
}
