// Who is signed in: the `me` query, shared by every page.
import { createContext, useCallback, useContext } from "react";
import type { ReactNode } from "react";
import { useQuery } from "urql";
import type { AccountFieldsFragment } from "../gql/graphql";
import { MeQuery } from "./operations";

interface SessionValue {
  me: AccountFieldsFragment | null;
  loading: boolean;
  error: unknown;
  refresh: () => void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [result, reexecute] = useQuery({ query: MeQuery, requestPolicy: "network-only" });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  const value: SessionValue = {
    me: result.data?.me ?? null,
    loading: result.fetching && !result.data,
    error: result.error,
    refresh,
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error("useSession outside <SessionProvider>");
  return value;
}
