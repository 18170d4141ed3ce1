// The API explorer: GraphiQL from npm, in its own chunk (it is most of the app's weight),
// so nothing loads from a CDN and the first page stays small. It opens without a session:
// an integrator pastes an API key (kept in this page's memory only, sent as the
// Authorization header). The docs are the server's own schema, asked for without
// credentials; where the server refuses introspection (production), the public contract
// that comes with the chunk stands in, so they are browsable signed out either way.
import "graphiql/graphiql.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { buildClientSchema, buildSchema, getIntrospectionQuery } from "graphql";
import type { GraphQLSchema, IntrospectionQuery } from "graphql";
import { createClient } from "graphql-ws";
import { useEffect, useId, useMemo, useRef, useState } from "react";
import contract from "../../../docs/api-contract.graphql?raw";
import additions from "../../served-additions.graphql?raw";
import { CSRF_HEADERS, wsUrl } from "../lib/client";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";

const CONTRACT = buildSchema(`${contract}\n${additions}`);

async function servedSchema(): Promise<GraphQLSchema> {
  try {
    const response = await fetch("/graphql", {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json", ...CSRF_HEADERS },
      body: JSON.stringify({ query: getIntrospectionQuery() }),
    });
    const body = (await response.json()) as { data?: IntrospectionQuery };
    return body.data ? buildClientSchema(body.data) : CONTRACT;
  } catch {
    return CONTRACT;
  }
}

const EXAMPLE = `# Runs as you: your session, or the API key
# above (sent as Authorization: Bearer nk_...).
# Signed out, with no key, me is null.
query Me {
  me {
    email
    credits
    heldCredits
  }
}
`;

// GraphiQL's editors are CodeMirror instances whose hidden textareas carry no label, and
// their scrolling areas cannot be reached by keyboard; both are fixed here as they appear.
const EDITOR_LABELS: [string, string][] = [
  [".graphiql-query-editor", "Query editor"],
  [".graphiql-editor-tool [aria-label='Variables'], .graphiql-editor-tool > .graphiql-editor:nth-child(1)", "Variables editor"],
  [".graphiql-editor-tool > .graphiql-editor:nth-child(2)", "Headers editor"],
  [".result-window", "Response"],
];

function labelEditors(root: HTMLElement): void {
  for (const [selector, label] of EDITOR_LABELS) {
    for (const area of root.querySelectorAll<HTMLElement>(selector)) {
      for (const textarea of area.querySelectorAll("textarea:not([aria-label])")) {
        textarea.setAttribute("aria-label", label);
      }
    }
  }
  for (const textarea of root.querySelectorAll("textarea:not([aria-label])")) {
    textarea.setAttribute("aria-label", "Editor");
  }
  // CodeMirror gives its scroller tabindex -1; a keyboard user must be able to reach it.
  for (const scroller of root.querySelectorAll(".CodeMirror-scroll:not([tabindex='0'])")) {
    scroller.setAttribute("tabindex", "0");
  }
}

export default function ExplorerPage() {
  const frame = useRef<HTMLDivElement>(null);
  const { me } = useSession();
  const [apiKey, setApiKey] = useState("");
  const keyId = useId();
  // null: not known yet (GraphiQL waits); never undefined, which would make it ask itself.
  const [schema, setSchema] = useState<GraphQLSchema | null>(null);
  useEffect(() => {
    void servedSchema().then(setSchema);
  }, []);
  useEffect(() => {
    const root = frame.current;
    if (!root) return;
    labelEditors(root);
    const observer = new MutationObserver(() => labelEditors(root));
    observer.observe(root, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, []);
  const key = apiKey.trim();
  const fetcher = useMemo(() => {
    const authorization: Record<string, string> = key ? { Authorization: `Bearer ${key}` } : {};
    return createGraphiQLFetcher({
      url: "/graphql",
      headers: { ...CSRF_HEADERS, ...authorization },
      wsClient: createClient({
        url: wsUrl(),
        lazy: true,
        connectionParams: key ? { authorization: `Bearer ${key}` } : undefined,
      }),
    });
  }, [key]);
  return (
    <section className="explorer" aria-labelledby="explorer-title">
      <h1 id="explorer-title" className="visually-hidden">
        API explorer
      </h1>
      <div className="explorer-key">
        <label htmlFor={keyId}>API key</label>
        <input
          id={keyId}
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="nk_…"
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
          aria-describedby={`${keyId}-hint`}
        />
        <small id={`${keyId}-hint`}>
          {key
            ? "Requests are sent with this key, as your application would send them."
            : me
              ? "Empty: requests run with your session. Paste a key to call the API as your application does."
              : <>Paste a key to call the API as your application does, or <Link href="/login">log in</Link>. The docs (top left) need neither.</>}{" "}
          Kept in this page only: never stored, gone when you leave or reload.
        </small>
      </div>
      <div className="explorer-frame" ref={frame}>
        <GraphiQL fetcher={fetcher} schema={schema} defaultQuery={EXAMPLE} shouldPersistHeaders={false} />
      </div>
    </section>
  );
}
