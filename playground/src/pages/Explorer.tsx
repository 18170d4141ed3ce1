// The API explorer: GraphiQL from npm, in its own chunk (it is most of the app's weight),
// so nothing loads from a CDN and the first page stays small.
import "graphiql/graphiql.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { createClient } from "graphql-ws";
import { useMemo } from "react";
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

export default function ExplorerPage() {
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
      <div className="explorer-frame">
        <GraphiQL fetcher={fetcher} defaultQuery={EXAMPLE} shouldPersistHeaders={false} />
      </div>
    </section>
  );
}
