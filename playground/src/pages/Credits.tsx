import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { Empty, ErrorNote, Field, Loading } from "../components/ui";
import type { LedgerQuery as LedgerData } from "../gql/graphql";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatCredits, formatDate } from "../lib/format";
import { LIMITS, checkWhole } from "../lib/limits";
import { CreateCheckoutMutation, CreditPriceQuery, LedgerQuery } from "../lib/operations";
import { useSession } from "../lib/session";

type Entry = LedgerData["creditLedger"]["edges"][number]["node"];
const PAGE = 20;

const KIND_LABELS: Record<string, string> = {
  TOP_UP: "Purchase",
  GRANT: "Grant",
  HOLD: "Held for a job",
  RELEASE: "Released",
  CHARGE: "Charged",
  REFUND: "Refund",
  CHARGEBACK: "Chargeback",
  ADJUSTMENT: "Adjustment",
};

export function CreditsPage() {
  const client = useClient();
  const { me, refresh } = useSession();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [credits, setCredits] = useState("500");
  const [buyErrors, setBuyErrors] = useState<Record<string, string>>({});
  const [buyError, setBuyError] = useState("");
  const [checkoutState, createCheckout] = useMutation(CreateCheckoutMutation);
  const [priceAnswer] = useQuery({ query: CreditPriceQuery });
  const price = priceAnswer.data?.creditPrice;
  const unavailable = price && !price.available;
  const low = price?.minCredits ?? LIMITS.minCheckoutCredits;
  const high = price?.maxCredits ?? LIMITS.maxCheckoutCredits;
  const range = `${low.toLocaleString("en")} to ${high.toLocaleString("en")} credits`;
  const wanted = Number(credits);
  const total = price && Number.isInteger(wanted) && wanted >= low && wanted <= high ? money(wanted * price.unitAmount, price.currency) : null;

  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      const result = await client.query(LedgerQuery, { first: PAGE, after }, { requestPolicy: "network-only" }).toPromise();
      setLoading(false);
      if (result.error || !result.data) {
        setError(errorMessage(result.error));
        return;
      }
      const page = result.data.creditLedger;
      setEntries((prev) => [...(after ? prev : []), ...page.edges.map((e) => e.node)]);
      setCursor(page.pageInfo.endCursor ?? null);
      setHasMore(page.pageInfo.hasNextPage);
    },
    [client],
  );
  useEffect(() => {
    void load(null);
    refresh();
  }, [load, refresh]);

  // Checked as it is typed, so 0, 50 or -5 are refused before anything is sent.
  const creditsProblem = (text: string): string => {
    const problem = text.trim() === "" ? "Enter a number of credits." : checkWhole(text, low, high, "Credits");
    // The server's own words: "Buy between 100 and 100,000 credits."
    if (problem?.startsWith("Credits must be between")) return `Buy between ${low} and ${high.toLocaleString("en")} credits.`;
    return problem ?? "";
  };
  const typed = credits.trim() === "" ? "" : creditsProblem(credits);

  const buy = async (event: FormEvent) => {
    event.preventDefault();
    setBuyErrors({});
    setBuyError("");
    const problem = creditsProblem(credits);
    if (problem) {
      setBuyErrors({ credits: problem });
      return;
    }
    const data = answerOf(await createCheckout({ credits: Number(credits) }), (d) => d.createCheckout, {
      error: setBuyError,
      fields: setBuyErrors,
      shown: ["credits"],
    });
    if (data) window.location.assign(data.url);
  };

  return (
    <section>
      <hgroup>
        <h1>Credits</h1>
        <p>Credits are bought in advance and spent per image. Work in progress holds its credits until it ends; what it does not use comes back.</p>
      </hgroup>
      {me ? (
        <div className="stats">
          <article>
            <h2>Available</h2>
            <p className="big" data-testid="credits-available">{me.credits.toLocaleString()}</p>
          </article>
          <article>
            <h2>Held</h2>
            <p className="big" data-testid="credits-held">{me.heldCredits.toLocaleString()}</p>
            <small>Reserved by queued or running work.</small>
          </article>
          <article>
            <h2>Balance</h2>
            <p className="big">{(me.credits + me.heldCredits).toLocaleString()}</p>
            <small>Available plus held.</small>
          </article>
        </div>
      ) : null}
      <form onSubmit={buy} className="card buy" noValidate aria-labelledby="buy-title">
        <h2 id="buy-title">Buy credits</h2>
        {unavailable ? (
          <p className="notice notice-info" data-testid="billing-unavailable">
            {price.unavailableReason ?? "Buying credits is not available on this server."} Credits come only from grants here.
          </p>
        ) : (
          <p>
            You pay on Stripe’s checkout page; the credits are added as soon as Stripe confirms the payment.
            {price ? ` One credit costs ${money(price.unitAmount, price.currency)}.` : ""}
          </p>
        )}
        <div className="buy-row">
          <Field label="Credits to buy" name="credits" type="number" inputMode="numeric" min={low} max={high} step={100}
            value={credits} onChange={(e) => { setCredits(e.target.value); setBuyErrors({}); }} error={buyErrors.credits || typed}
            hint={`From ${range} at a time.${total ? ` ${Number(credits).toLocaleString("en")} credits cost ${total}.` : ""}`} />
          <button type="submit" disabled={checkoutState.fetching || Boolean(unavailable)} aria-busy={checkoutState.fetching || undefined}>
            Buy credits
          </button>
        </div>
        <ErrorNote>{buyError}</ErrorNote>
      </form>
      <h2>Ledger</h2>
      <ErrorNote>{error}</ErrorNote>
      {!loading && entries.length === 0 && !error ? <Empty>No credit movements yet.</Empty> : null}
      {entries.length ? (
        <div className="table-scroll">
          <table className="ledger">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col" className="num">Change</th>
                <th scope="col" className="num">Held change</th>
                <th scope="col" className="num">Balance after</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td className="nowrap">{formatDate(e.createdAt)}</td>
                  <td>
                    {KIND_LABELS[e.kind] ?? e.kind}
                    {e.jobId ? (
                      <>
                        {" · "}
                        <span className="small-print">
                          job <code title={e.jobId}>{e.jobId.slice(0, 8)}</code>
                        </span>
                      </>
                    ) : null}
                  </td>
                  <td className="num">{e.amount > 0 ? `+${e.amount}` : e.amount}</td>
                  <td className="num">{e.heldChange > 0 ? `+${e.heldChange}` : e.heldChange}</td>
                  <td className="num">{formatCredits(e.balanceAfter)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {loading ? <Loading what="the ledger" /> : null}
      {hasMore && !loading ? (
        <button type="button" className="secondary outline" onClick={() => load(cursor)}>
          Older entries
        </button>
      ) : null}
    </section>
  );
}

/** An amount in the currency's smallest unit (cents), as a person reads it. */
function money(minor: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency: currency.toUpperCase(), maximumFractionDigits: 4 }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}
