import { useEffect, useRef, useState } from "react";
import { Link, useRouter } from "../lib/router";

/** "Privacy requests", bottom-right on every page: the privacy policy sends people here for
 * access, correction and deletion, so each entry leads to the page that really does it. */
export function PrivacyWidget({ signedIn }: { signedIn: boolean }) {
  const [open, setOpen] = useState(false);
  const { location } = useRouter();
  const panel = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => setOpen(false), [location.path, location.hash]);
  useEffect(() => {
    if (open) panel.current?.querySelector<HTMLElement>("a, button")?.focus();
  }, [open]);
  return (
    <aside className="privacy-widget" aria-label="Privacy requests">
      {open ? (
        <div
          ref={panel}
          id="privacy-panel"
          className="privacy-panel"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              setOpen(false);
              // Back to the button that opened it, not to the page's start.
              button.current?.focus();
            }
          }}
        >
          <h2>Privacy requests</h2>
          {signedIn ? (
            <ul>
              <li>
                <Link href="/privacy#export">Download a copy of my data</Link>
              </li>
              <li>
                <Link href="/account#profile">Correct my name or e-mail</Link>
              </li>
              <li>
                <Link href="/privacy#marketing">Stop marketing e-mails</Link>
              </li>
              <li>
                <Link href="/privacy#delete">Delete my account</Link>
              </li>
            </ul>
          ) : (
            <>
              <p>
                <Link href="/login">Log in</Link> to download, correct or delete your data, or to stop marketing
                e-mails. Every request takes effect at once.
              </p>
              <p>
                Locked out? <Link href="/forgot-password">Reset your password</Link> with your account’s e-mail address,
                then log in to reach your data.
              </p>
            </>
          )}
          <p className="small-print">We use one strictly necessary session cookie and no tracking.</p>
        </div>
      ) : null}
      <button
        ref={button}
        type="button"
        className="privacy-button"
        aria-expanded={open}
        aria-controls="privacy-panel"
        onClick={() => setOpen(!open)}
      >
        {open ? "Close" : "Privacy requests"}
      </button>
    </aside>
  );
}
