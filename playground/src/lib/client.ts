// The one GraphQL client of the app: queries and mutations over HTTP POST (the session
// cookie rides along; the server refuses GET queries), subscriptions over graphql-ws.
import { Client, cacheExchange, fetchExchange, stringifyDocument } from "@urql/core";
import type { TypedDocumentNode } from "@urql/core";
import { createClient as createWsClient } from "graphql-ws";
import type { Client as WsClient, ExecutionResult } from "graphql-ws";

export function wsUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/graphql`;
}

// The server accepts cookie-authenticated multipart requests (clone photos) only with this
// header; a page on another origin cannot add it without a CORS preflight.
export const CSRF_HEADERS = { "X-Neurall-CSRF": "1" };

export const client = new Client({
  url: "/graphql",
  exchanges: [cacheExchange, fetchExchange],
  fetchOptions: () => ({ credentials: "same-origin", headers: CSRF_HEADERS }),
  requestPolicy: "cache-and-network",
  preferGetMethod: false,
});

// No automatic retries: a dropped socket ends the subscriptions on it, and each caller
// resubscribes itself with what it has already seen (jobEvents' afterSeq), so nothing is
// replayed twice and nothing is skipped.
let socket: WsClient | null = null;
export function wsClient(): WsClient {
  if (socket === null) {
    socket = createWsClient({
      url: wsUrl(),
      lazy: true,
      // Kept open a moment after the last subscription ends, so moving between pages
      // (or React re-running an effect) reuses the socket instead of racing a new one.
      lazyCloseTimeout: 3000,
      retryAttempts: 0,
      keepAlive: 15_000,
    });
  }
  return socket;
}

/** Closes the socket: it was authenticated by the session cookie when it opened, so it
 * must not outlive a log-in, log-out or account deletion. */
export function resetSocket(): void {
  socket?.dispose();
  socket = null;
}

export interface Subscription {
  unsubscribe(): void;
}

/** Subscribes to one operation; `onEnd` gets the error (or null when it completed). */
export function subscribe<TData, TVars extends Record<string, unknown>>(
  document: TypedDocumentNode<TData, TVars>,
  variables: TVars,
  onData: (data: TData) => void,
  onEnd: (error: unknown | null) => void,
): Subscription {
  let ended = false;
  const dispose = wsClient().subscribe<TData>(
    { query: stringifyDocument(document), variables },
    {
      next(result: ExecutionResult<TData>) {
        if (result.errors?.length) {
          ended = true;
          onEnd(new Error(result.errors.map((e) => e.message).join(" ")));
        } else if (result.data) {
          onData(result.data);
        }
      },
      error(error: unknown) {
        if (!ended) {
          ended = true;
          onEnd(error ?? new Error("The connection closed."));
        }
      },
      complete() {
        if (!ended) {
          ended = true;
          onEnd(null);
        }
      },
    },
  );
  return {
    unsubscribe() {
      ended = true;
      dispose();
    },
  };
}

/** A readable sentence for whatever went wrong (network, GraphQL or socket errors). */
export function errorMessage(error: unknown): string {
  if (error && typeof error === "object") {
    const e = error as { graphQLErrors?: GraphQLErrorLike[]; networkError?: Error; message?: string; reason?: string; code?: number };
    if (e.graphQLErrors?.length) return graphQLErrorMessage(e.graphQLErrors);
    if (e.networkError) return "The server could not be reached. Check your connection and try again.";
    if (typeof e.reason === "string" && e.reason) return e.reason;
    if (typeof e.code === "number") return "The live connection closed.";
    if (typeof e.message === "string" && e.message) return e.message;
  }
  return "Something went wrong. Please try again.";
}

interface GraphQLErrorLike {
  message: string;
  extensions?: Record<string, unknown>;
}

export const GENERIC_ERROR = "Something went wrong on our side or in what was sent. Please check the form and try again.";

/** The server's own sentences for the errors it meant for people (they carry a code:
 * FORBIDDEN, RATE_LIMITED...). Anything else is a request the app should never have sent
 * (a variable the schema refused) or a masked failure: people get a generic sentence and
 * the detail goes to the console, for whoever debugs it. */
function graphQLErrorMessage(errors: GraphQLErrorLike[]): string {
  const meant = errors.filter((g) => typeof g.extensions?.code === "string");
  if (meant.length === errors.length) return [...new Set(meant.map((g) => g.message))].join(" ");
  console.warn("GraphQL errors:", errors.map((g) => g.message).join(" | "));
  return GENERIC_ERROR;
}
