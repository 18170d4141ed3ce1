import { useMemo, useState } from "react";
import { useQuery } from "urql";
import { ErrorNote, Loading } from "../components/ui";
import { errorMessage } from "../lib/client";
import { Link } from "../lib/router";
import { UsageQuery } from "../lib/operations";

const METRICS = [
  { key: "requests", label: "Requests" },
  { key: "images", label: "Images" },
  { key: "credits", label: "Credits" },
] as const;

type Metric = (typeof METRICS)[number]["key"];

function daysAgo(days: number): Date {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - days);
  return d;
}

export function UsagePage() {
  const [range, setRange] = useState(30);
  const [metric, setMetric] = useState<Metric>("requests");
  const since = useMemo(() => daysAgo(range - 1).toISOString(), [range]);
  const [result] = useQuery({ query: UsageQuery, variables: { since }, requestPolicy: "cache-and-network" });

  // One bar per UTC day of the range, zero where the server has no row.
  const days = useMemo(() => {
    const byDay = new Map((result.data?.usage ?? []).map((d) => [d.day, d]));
    return Array.from({ length: range }, (_, i) => {
      const day = daysAgo(range - 1 - i).toISOString().slice(0, 10);
      const row = byDay.get(day);
      return { day, requests: row?.requests ?? 0, images: row?.images ?? 0, credits: row?.credits ?? 0 };
    });
  }, [result.data, range]);
  const totals = days.reduce((t, d) => ({ requests: t.requests + d.requests, images: t.images + d.images, credits: t.credits + d.credits }), { requests: 0, images: 0, credits: 0 });

  return (
    <section>
      <hgroup>
        <h1>Usage</h1>
        <p>
          Calls made with your API keys only, per UTC day; usage records are kept for 90 days. What you generate here in the
          playground is not counted: its credits are in the <Link href="/credits">credit ledger</Link>, and its images in
          your <Link href="/history">history</Link>.
        </p>
      </hgroup>
      <div className="grid-2 controls">
        <div className="field">
          <label htmlFor="usage-range">Period</label>
          <select id="usage-range" value={range} onChange={(e) => setRange(Number(e.target.value))}>
            <option value={7}>Last 7 days</option>
            <option value={30}>Last 30 days</option>
            <option value={90}>Last 90 days</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="usage-metric">Show</label>
          <select id="usage-metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            {METRICS.map((m) => (
              <option key={m.key} value={m.key}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {result.fetching && !result.data ? <Loading what="usage" /> : null}
      {result.error ? <ErrorNote>{errorMessage(result.error)}</ErrorNote> : null}
      {result.data ? (
        <>
          <div className="stats">
            <article><h2>API requests</h2><p className="big">{totals.requests.toLocaleString()}</p></article>
            <article><h2>Images</h2><p className="big">{totals.images.toLocaleString()}</p></article>
            <article><h2>API credits</h2><p className="big">{totals.credits.toLocaleString()}</p></article>
          </div>
          <BarChart days={days} metric={metric} label={METRICS.find((m) => m.key === metric)?.label ?? metric} />
          {totals.requests === 0 ? <p className="empty">No API calls in this period. Create a key on the API keys page and call the API from your code.</p> : null}
        </>
      ) : null}
    </section>
  );
}

function BarChart({ days, metric, label }: { days: { day: string; requests: number; images: number; credits: number }[]; metric: Metric; label: string }) {
  const width = 720;
  const height = 220;
  const pad = { left: 40, right: 8, top: 12, bottom: 28 };
  const max = Math.max(1, ...days.map((d) => d[metric]));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const barW = innerW / days.length;
  const ticks = [0, Math.ceil(max / 2), max];
  const labelEvery = Math.ceil(days.length / 8);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label} per day: ${days.reduce((t, d) => t + d[metric], 0)} in total over ${days.length} days`} data-testid="usage-chart">
        {ticks.map((t) => {
          const y = pad.top + innerH - (t / max) * innerH;
          return (
            <g key={t}>
              <line x1={pad.left} x2={width - pad.right} y1={y} y2={y} className="grid-line" />
              <text x={pad.left - 6} y={y + 4} textAnchor="end" className="axis-label">{t}</text>
            </g>
          );
        })}
        {days.map((d, i) => {
          const h = (d[metric] / max) * innerH;
          return (
            <g key={d.day}>
              <rect x={pad.left + i * barW + 1} y={pad.top + innerH - h} width={Math.max(barW - 2, 1)} height={h} className="bar">
                <title>{`${d.day}: ${d[metric]} ${label.toLowerCase()}`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={pad.left + i * barW + barW / 2} y={height - 8} textAnchor="middle" className="axis-label">{d.day.slice(5)}</text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>{label} per UTC day</figcaption>
    </figure>
  );
}
