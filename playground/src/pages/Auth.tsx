import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation } from "urql";
import { ErrorNote, Field, SuccessNote } from "../components/ui";
import { errorMessage, resetSocket } from "../lib/client";
import { invalidInput } from "../lib/format";
import { LogInMutation, SignUpMutation } from "../lib/operations";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";

export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [signUpState, signUp] = useMutation(SignUpMutation);
  const [logInState, logIn] = useMutation(LogInMutation);
  const { refresh } = useSession();
  const { location, navigate } = useRouter();
  const busy = signUpState.fetching || logInState.fetching;
  const signup = mode === "signup";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError("");
    setFields({});
    const result = signup
      ? await signUp({ input: { email, password, name: name || null } })
      : await logIn({ email, password });
    if (result.error) {
      setError(errorMessage(result.error));
      return;
    }
    const data = result.data && ("signUp" in result.data ? result.data.signUp : result.data.logIn);
    if (!data) return;
    if (data.__typename === "Session") {
      resetSocket();
      if (location.path === "/login" || location.path === "/signup") navigate("/", { replace: true });
      refresh();
      return;
    }
    if (data.__typename === "InvalidInput") {
      const { fields: byField, summary } = invalidInput(data, ["name", "email", "password"]);
      setFields(byField);
      setError(summary);
    } else setError("message" in data ? data.message : "That did not work.");
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
          {signup ? null : (
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
