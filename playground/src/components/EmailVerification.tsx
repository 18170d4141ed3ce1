// Confirming the account's address: the mailed link (handled on whatever page it opens),
// the banner shown on every page until the address is confirmed, and "send it again".
import { useEffect, useRef, useState } from "react";
import { useMutation } from "urql";
import { answerOf } from "../lib/answer";
import { forgetEmailLink, useEmailLink } from "../lib/emailLinks";
import type { EmailLink } from "../lib/emailLinks";
import { RequestEmailVerificationMutation, VerifyEmailMutation } from "../lib/operations";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";

type Outcome = { ok: true; text: string } | { ok: false; text: string; expired: boolean };

/** Uses a mailed confirmation link once, and says how it went, signed in or not. */
export function VerifyEmailLink() {
  const link = useEmailLink("verify-email");
  const { me, loading, refresh } = useSession();
  const [, verifyEmail] = useMutation(VerifyEmailMutation);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const used = useRef<EmailLink | null>(null);
  const before = useRef(me);
  before.current = me;

  useEffect(() => {
    // Once per opening of a link (React runs effects twice in development), and after the
    // session is known, to tell a confirmed change from a first confirmation.
    if (!link || loading || used.current === link) return;
    used.current = link;
    setOutcome(null);
    void verifyEmail({ token: link.token }).then((result) => {
      forgetEmailLink();
      let failure = "";
      const data = answerOf(result, (d) => d.verifyEmail, { error: (message) => (failure = message) });
      if (data) {
        const was = before.current?.email;
        setOutcome({
          ok: true,
          text:
            was && was !== data.email
              ? `Your e-mail address is now ${data.email}. It is confirmed.`
              : `Your e-mail address ${data.email} is confirmed. Thank you!`,
        });
        refresh();
      } else {
        setOutcome({ ok: false, text: failure, expired: /expired/i.test(failure) });
      }
    });
  }, [link, loading, verifyEmail, refresh]);

  if (link && !outcome) {
    return (
      <p className="notice notice-info" role="status" aria-busy="true">
        Confirming your e-mail address…
      </p>
    );
  }
  if (!outcome) return null;
  const dismiss = () => setOutcome(null);
  return (
    <div role={outcome.ok ? "status" : "alert"} className={`notice ${outcome.ok ? "notice-ok" : "notice-error"} email-link-outcome`}
      data-testid="verify-outcome">
      <span>
        {outcome.text}{" "}
        {!outcome.ok && me?.emailVerified && !me.pendingEmail ? "Your address is confirmed already. " : null}
        {!outcome.ok && !me ? (
          <>
            <Link href="/login">Log in</Link> to ask for a new link.
          </>
        ) : null}
      </span>
      {!outcome.ok && me && (!me.emailVerified || me.pendingEmail) ? <ResendButton /> : null}
      <button type="button" className="secondary outline small" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}

/** On every page until the account's address is confirmed. */
export function VerifyBanner() {
  const { me } = useSession();
  if (!me || me.emailVerified) return null;
  return (
    <div className="notice notice-info verify-banner" data-testid="verify-banner">
      <span>
        <strong>Confirm your e-mail address:</strong> open the link we sent to <strong>{me.email}</strong>. A
        confirmed address lets you recover the account, and is needed for API keys and payments.
      </span>
      <ResendButton />
    </div>
  );
}

/** Sends the confirmation link again (to the pending address when there is one). */
export function ResendButton({ label = "Send the link again" }: { label?: string }) {
  const [state, request] = useMutation(RequestEmailVerificationMutation);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const send = async () => {
    const data = answerOf(await request({}), (d) => d.requestEmailVerification, {
      error: (text) => setSaid({ ok: false, text }),
    });
    if (data) setSaid({ ok: true, text: data.message });
  };
  return (
    <span className="resend">
      <button type="button" className="secondary small" onClick={send} disabled={state.fetching} aria-busy={state.fetching || undefined}>
        {label}
      </button>
      {said ? (
        <small role={said.ok ? "status" : "alert"} className={said.ok ? undefined : "field-error"}>
          {said.text}
        </small>
      ) : null}
    </span>
  );
}
