// The API explorer: GraphiQL from npm, in its own chunk (it is most of the app's weight),
// so nothing loads from a CDN and the first page stays small.
import "graphiql/graphiql.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { createClient } from "graphql-ws";
import { useEffect, useMemo, useRef } from "react";
import { CSRF_HEADERS, wsUrl } from "../lib/client";

const EXAMPLE = `# Runs as you, with your session. Integrators send an API key instead:
#   Authorization: Bearer nk_...
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
  useEffect(() => {
    const root = frame.current;
    if (!root) return;
    labelEditors(root);
    const observer = new MutationObserver(() => labelEditors(root));
    observer.observe(root, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, []);
  const fetcher = useMemo(
    () =>
      createGraphiQLFetcher({
        url: "/graphql",
        headers: CSRF_HEADERS,
        wsClient: createClient({ url: wsUrl(), lazy: true }),
      }),
    [],
  );
  return (
    <section className="explorer" aria-labelledby="explorer-title">
      <h1 id="explorer-title" className="visually-hidden">
        API explorer
      </h1>
      <div className="explorer-frame" ref={frame}>
        <GraphiQL fetcher={fetcher} defaultQuery={EXAMPLE} shouldPersistHeaders={false} />
      </div>
    </section>
  );
}
