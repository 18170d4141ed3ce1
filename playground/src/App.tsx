import { Suspense, lazy, useEffect, useRef, useState } from "react";
import type { ReactNode } from "react";
import { useMutation } from "urql";
import { VerifyBanner, VerifyEmailLink } from "./components/EmailVerification";
import { ErrorNote, Loading } from "./components/ui";
import { PrivacyWidget } from "./components/PrivacyWidget";
import { errorMessage } from "./lib/client";
import { onEmailLinkPasted } from "./lib/emailLinks";
import { formatCredits } from "./lib/format";
import { LogOutMutation } from "./lib/operations";
import { Link, useRouter } from "./lib/router";
import { useSession } from "./lib/session";
import { AccountPage } from "./pages/Account";
import { AuthPage } from "./pages/Auth";
import { ClonesPage } from "./pages/Clones";
import { CreditsPage } from "./pages/Credits";
import { GeneratePage } from "./pages/Generate";
import { HistoryDetailPage, HistoryPage } from "./pages/History";
import { KeysPage } from "./pages/Keys";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/Password";
import { PrivacyPage, PublicPrivacyPage } from "./pages/Privacy";
import { UsagePage } from "./pages/Usage";

// GraphiQL is large: it is its own chunk, fetched only when the explorer opens. The
// webhooks page is for integrators only: its own chunk too, so the first load stays small.
const ExplorerPage = lazy(() => import("./pages/Explorer"));
const WebhooksPage = lazy(() => import("./pages/Webhooks"));

const NAV: { href: string; label: string }[] = [
  { href: "/", label: "Generate" },
  { href: "/history", label: "History" },
  { href: "/clones", label: "Clones" },
  { href: "/keys", label: "API keys" },
  { href: "/webhooks", label: "Webhooks" },
  { href: "/credits", label: "Credits" },
  { href: "/usage", label: "Usage" },
  { href: "/privacy", label: "Privacy" },
  { href: "/explorer", label: "API explorer" },
];

const TITLES: Record<string, string> = {
  "/": "Generate",
  "/history": "History",
  "/clones": "Clones",
  "/keys": "API keys",
  "/webhooks": "Webhooks",
  "/credits": "Credits",
  "/usage": "Usage",
  "/privacy": "Privacy",
  "/account": "Account",
  "/explorer": "API explorer",
  "/graphql": "API explorer",
  "/login": "Log in",
  "/signup": "Sign up",
  "/forgot-password": "Forgot password",
  "/reset-password": "Choose a new password",
};

function isActive(path: string, href: string): boolean {
  if (href === "/explorer" && path === "/graphql") return true;
  return href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`);
}

export function App() {
  const { me, loading, error } = useSession();
  const { location, navigate } = useRouter();
  const mainRef = useRef<HTMLElement>(null);
  const path = location.path;

  // A mailed link opened in a tab where the app already runs: the router reads it again.
  useEffect(
    () => onEmailLinkPasted(() => navigate(window.location.pathname + window.location.search, { replace: true })),
    [navigate],
  );

  useEffect(() => {
    const base = `/${path.split("/")[1] ?? ""}`;
    document.title = `${TITLES[base] ?? "Page not found"} · Neurall playground`;
  }, [path]);

  let page: ReactNode;
  if (loading) page = <Loading what="your account" />;
  else if (error && !me) page = <ErrorNote>{errorMessage(error)}</ErrorNote>;
  // Signed in or not: the same element, so finishing a reset (which signs in) keeps its state.
  else if (path === "/forgot-password") page = <ForgotPasswordPage />;
  else if (path === "/reset-password") page = <ResetPasswordPage />;
  else if (!me && path === "/privacy") page = <PublicPrivacyPage />;
  // The explorer is for integrators too: it opens without a session (an API key, or none).
  else if (!me && (path === "/explorer" || path === "/graphql")) page = <Explorer />;
  else if (!me && !isAppPath(path)) page = <NotFound path={path} />;
  else if (!me) page = <AuthPage mode={path === "/signup" ? "signup" : "login"} />;
  else page = <Routes path={path} />;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header signedIn={me !== null} />
      <main id="main" ref={mainRef} tabIndex={-1} className="container">
        <VerifyEmailLink />
        <VerifyBanner />
        <CheckoutReturn />
        {page}
      </main>
      <footer className="container site-footer">
        <p>
          <strong>Cookies:</strong> Neurall sets one strictly necessary cookie, the session cookie that keeps you signed
          in. No tracking, no analytics, no advertising cookies. Nothing on this page loads from another site.{" "}
          <Link href="/privacy#cookies">More about your privacy</Link>.
        </p>
      </footer>
      <PrivacyWidget signedIn={me !== null} />
    </>
  );
}

function Routes({ path }: { path: string }) {
  if (path === "/" || path === "/generate") return <GeneratePage />;
  if (path === "/history") return <HistoryPage />;
  if (path.startsWith("/history/")) return <HistoryDetailPage jobId={decodeURIComponent(path.slice(9))} />;
  if (path === "/clones") return <ClonesPage />;
  if (path === "/keys") return <KeysPage />;
  if (path === "/webhooks")
    return (
      <Suspense fallback={<Loading what="your webhooks" />}>
        <WebhooksPage />
      </Suspense>
    );
  if (path === "/credits") return <CreditsPage />;
  if (path === "/usage") return <UsagePage />;
  if (path === "/privacy") return <PrivacyPage />;
  if (path === "/account") return <AccountPage />;
  if (path === "/login" || path === "/signup") return <GeneratePage />;
  // In development the server answers a browser's GET /graphql with this app: the explorer.
  if (path === "/explorer" || path === "/graphql") return <Explorer />;
  return <NotFound path={path} />;
}

function Explorer() {
  return (
    <Suspense fallback={<Loading what="the API explorer" />}>
      <ExplorerPage />
    </Suspense>
  );
}

/** Paths the app has a page for (signed in); anything else is its not-found page. */
function isAppPath(path: string): boolean {
  return path in TITLES || path === "/generate" || path.startsWith("/history/");
}

function NotFound({ path }: { path: string }) {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link href="/">Go to the start page</Link>.
      </p>
    </section>
  );
}

function Header({ signedIn }: { signedIn: boolean }) {
  const { me } = useSession();
  const { location } = useRouter();
  const [open, setOpen] = useState(false);
  const [, logOut] = useMutation(LogOutMutation);
  useEffect(() => setOpen(false), [location.path]);

  const onLogOut = async () => {
    await logOut({});
    // A fresh page: nothing of this account stays in memory (cached queries, the socket).
    window.sessionStorage.clear();
    window.location.assign("/login");
  };

  return (
    <header className="site-header">
      <nav className="site-nav" aria-label="Main">
        <ul>
          <li>
            <Link href="/" className="brand">
              <img src="/favicon.svg" alt="" width={28} height={28} />
              <span>Neurall</span>
            </Link>
          </li>
        </ul>
        {signedIn && me ? (
          <>
            <button
              type="button"
              className="menu-toggle secondary outline"
              aria-expanded={open}
              aria-controls="main-menu"
              onClick={() => setOpen(!open)}
            >
              Menu
            </button>
            <ul id="main-menu" className={open ? "menu open" : "menu"}>
              {NAV.map((item) => (
                <li key={item.href}>
                  <Link href={item.href} aria-current={isActive(location.path, item.href) ? "page" : undefined}>
                    {item.label}
                  </Link>
                </li>
              ))}
              <li className="menu-account menu-push">
                <Link href="/credits" className="credits-pill" aria-label={`${formatCredits(me.credits)} available`}>
                  {formatCredits(me.credits)}
                </Link>
              </li>
              <li className="menu-account">
                <Link href="/account" className="account-link" title={me.email} aria-current={location.path === "/account" ? "page" : undefined}>
                  {me.name || me.email}
                </Link>
              </li>
              <li className="menu-account">
                <button type="button" className="secondary outline small" onClick={onLogOut}>
                  Log out
                </button>
              </li>
            </ul>
          </>
        ) : (
          <ul>
            <li>
              <Link href="/login" aria-current={location.path !== "/signup" ? "page" : undefined}>
                Log in
              </Link>
            </li>
            <li>
              <Link href="/signup" role="button" className="small">
                Sign up
              </Link>
            </li>
          </ul>
        )}
      </nav>
    </header>
  );
}

/** Stripe Checkout sends the buyer back to /?checkout=success or /?checkout=cancel. */
function CheckoutReturn() {
  const { location, navigate } = useRouter();
  const { refresh } = useSession();
  const outcome = location.search.get("checkout");
  useEffect(() => {
    if (outcome === "success") refresh();
  }, [outcome, refresh]);
  if (outcome !== "success" && outcome !== "cancel") return null;
  const dismiss = () => navigate(location.path, { replace: true });
  return (
    <div role="status" className={`notice ${outcome === "success" ? "notice-ok" : "notice-info"} checkout-return`}>
      {outcome === "success" ? (
        <span>
          Thank you: your payment went through. The credits are added as soon as Stripe confirms it, usually within
          seconds. <Link href="/credits">See your credits</Link>.
        </span>
      ) : (
        <span>Checkout was canceled. Nothing was charged.</span>
      )}
      <button type="button" className="secondary outline small" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
