// The links in Neurall's e-mails open the app with the token in the fragment, which never
// reaches a server log or another site's Referer: /#verify-email=<token> and
// /#reset-password=<token>. The token is taken out of the address bar at once (before the
// router reads it), so it is neither bookmarked nor left in the history, and kept in memory
// only: a reload without it asks for the link again.
import { useEffect, useState } from "react";

export type EmailLinkKind = "verify-email" | "reset-password";

export interface EmailLink {
  kind: EmailLinkKind;
  token: string;
}

const PATTERN = /^#(verify-email|reset-password)=([^&]+)$/;
let taken: EmailLink | null = null;
const listeners = new Set<(link: EmailLink | null) => void>();

/** Takes a link's token out of the address bar; true when there was one. */
export function takeEmailLink(): boolean {
  const match = PATTERN.exec(window.location.hash);
  if (!match) return false;
  const kind = match[1] as EmailLinkKind;
  taken = { kind, token: decodeURIComponent(match[2]) };
  // The reset form has a page of its own; a confirmed address shows on whatever page it was.
  const path = kind === "reset-password" ? "/reset-password" : window.location.pathname;
  window.history.replaceState(null, "", path + window.location.search);
  listeners.forEach((listener) => listener(taken));
  return true;
}

export function forgetEmailLink(): void {
  taken = null;
  listeners.forEach((listener) => listener(null));
}

/** The taken link of this kind, also when the link is opened in a tab where the app is
 * already open (the browser then only changes the fragment). */
export function useEmailLink(kind: EmailLinkKind): EmailLink | null {
  const [link, setLink] = useState<EmailLink | null>(taken);
  useEffect(() => {
    listeners.add(setLink);
    setLink(taken);
    return () => {
      listeners.delete(setLink);
    };
  }, []);
  return link?.kind === kind ? link : null;
}

/** Listens for a link pasted into a tab where the app is open; ``onTaken`` follows it
 * (the router must be told that the path may have changed). */
export function onEmailLinkPasted(onTaken: () => void): () => void {
  const handler = () => {
    if (takeEmailLink()) onTaken();
  };
  window.addEventListener("hashchange", handler);
  return () => window.removeEventListener("hashchange", handler);
}
