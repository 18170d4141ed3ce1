// Webhook endpoints and their delivery log: for integrators, so it is a lazily loaded
// chunk of its own (the first load stays within its budget).
import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { SecretPanel } from "../components/SecretPanel";
import { ConfirmDialog, Empty, ErrorNote, Field, Loading, SuccessNote } from "../components/ui";
import type { WebhookDeliveryFieldsFragment, WebhookEndpointFieldsFragment, WebhookEventType } from "../gql/graphql";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatDate } from "../lib/format";
import {
  CreateWebhookEndpointMutation,
  DeleteWebhookEndpointMutation,
  RedeliverWebhookMutation,
  RotateWebhookSecretMutation,
  SendTestWebhookMutation,
  UpdateWebhookEndpointMutation,
  WebhookDeliveriesQuery,
  WebhookEndpointsQuery,
} from "../lib/operations";

type Endpoint = WebhookEndpointFieldsFragment;
type Delivery = WebhookDeliveryFieldsFragment;

const EVENTS: { event: WebhookEventType; label: string }[] = [
  { event: "JOB_STARTED", label: "Job started" },
  { event: "JOB_PROGRESS", label: "Job progress (at most one a second)" },
  { event: "JOB_SUCCEEDED", label: "Job succeeded" },
  { event: "JOB_FAILED", label: "Job failed" },
  { event: "JOB_CANCELED", label: "Job canceled" },
  { event: "CLONE_READY", label: "Clone ready" },
  { event: "CLONE_FAILED", label: "Clone failed" },
  { event: "CREDITS_LOW", label: "Credits low" },
];
const EVENT_NAMES: Record<string, string> = {
  ...Object.fromEntries(EVENTS.map((e) => [e.event, e.label.replace(/ \(.*\)$/, "")])),
  WEBHOOK_TEST: "Test event",
};
const PAGE = 20;

type Confirm = { endpoint: Endpoint; action: "rotate" | "delete" };

export default function WebhooksPage() {
  const [endpoints, reexecute] = useQuery({ query: WebhookEndpointsQuery, requestPolicy: "cache-and-network" });
  const reload = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  const [secret, setSecret] = useState<{ title: string; secret: string } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [error, setError] = useState("");
  const [said, setSaid] = useState("");
  const [logVersion, setLogVersion] = useState(0);
  const [rotateState, rotate] = useMutation(RotateWebhookSecretMutation);
  const [deleteState, remove] = useMutation(DeleteWebhookEndpointMutation);
  const [, update] = useMutation(UpdateWebhookEndpointMutation);
  const [, sendTest] = useMutation(SendTestWebhookMutation);
  const list = endpoints.data?.webhookEndpoints ?? [];
  const shown = list.find((e) => e.id === selected) ?? list[0] ?? null;

  const report = { error: (message: string) => setError(message) };
  const act = async () => {
    if (!confirm) return;
    const { endpoint, action } = confirm;
    setError("");
    setSaid("");
    if (action === "rotate") {
      const data = answerOf(await rotate({ id: endpoint.id }), (d) => d.rotateWebhookSecret, report);
      if (data) setSecret({ title: `New signing secret for ${endpoint.url}`, secret: data.secret });
    } else {
      if (answerOf(await remove({ id: endpoint.id }), (d) => d.deleteWebhookEndpoint, report)) {
        setSaid(`Deleted the endpoint ${endpoint.url}.`);
      }
    }
    setConfirm(null);
    reload();
  };
  const setEnabled = async (endpoint: Endpoint, enabled: boolean) => {
    setError("");
    setSaid("");
    const data = answerOf(await update({ id: endpoint.id, input: { enabled } }), (d) => d.updateWebhookEndpoint, report);
    if (data) setSaid(enabled ? `${data.url} is enabled: events are sent to it again.` : `${data.url} is disabled: no events are sent to it.`);
    reload();
  };
  const test = async (endpoint: Endpoint) => {
    setError("");
    setSaid("");
    const data = answerOf(await sendTest({ id: endpoint.id }), (d) => d.sendTestWebhook, report);
    if (data) {
      setSaid(`A test event is on its way to ${endpoint.url}; it shows in the delivery log below.`);
      setSelected(endpoint.id);
      setLogVersion((v) => v + 1);
    }
  };

  return (
    <section>
      <hgroup>
        <h1>Webhooks</h1>
        <p>
          Neurall calls your server when a job or a clone finishes, or your credits run low. Each request is signed with the
          endpoint’s secret (Standard Webhooks: <code>webhook-id</code>, <code>webhook-timestamp</code>,{" "}
          <code>webhook-signature</code>) and never carries an API job’s prompt.
        </p>
      </hgroup>
      {secret ? (
        <SecretPanel title={secret.title} label="Signing secret" secret={secret.secret} onDone={() => setSecret(null)}>
          Copy it now: this is the only time it is shown. Verify each request’s signature with it; a rotated secret’s
          predecessor keeps signing beside it for 24 hours.
        </SecretPanel>
      ) : null}
      <NewEndpoint
        onCreated={(endpoint, value) => {
          setSecret({ title: `Signing secret for ${endpoint.url}`, secret: value });
          setSelected(endpoint.id);
          reload();
        }}
      />
      <h2>Your endpoints</h2>
      <SuccessNote>{said}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
      {endpoints.fetching && !endpoints.data ? <Loading what="your endpoints" /> : null}
      {endpoints.error ? <ErrorNote>{errorMessage(endpoints.error)}</ErrorNote> : null}
      {endpoints.data && list.length === 0 ? <Empty>No endpoints yet. Add one above to be told about your jobs.</Empty> : null}
      <div className="endpoint-list">
        {list.map((endpoint) => (
          <article key={endpoint.id} className="endpoint" aria-labelledby={`endpoint-${endpoint.id}`} data-testid="endpoint">
            <header className="clone-head">
              <h3 id={`endpoint-${endpoint.id}`} className="endpoint-url">
                {endpoint.url}
              </h3>
              {endpoint.enabled ? (
                <span className="badge badge-succeeded">Enabled</span>
              ) : (
                <span className="badge badge-failed">Disabled</span>
              )}
            </header>
            {endpoint.description ? <p>{endpoint.description}</p> : null}
            {!endpoint.enabled && endpoint.disabledReason ? (
              <p className="notice notice-error" data-testid="disabled-reason">
                The server turned it off: {endpoint.disabledReason}
              </p>
            ) : null}
            <p className="small-print">
              Events: {EVENTS.filter((e) => endpoint.events.includes(e.event)).map((e) => EVENT_NAMES[e.event]).join(", ")} · added {formatDate(endpoint.createdAt)}
            </p>
            <footer className="actions">
              <button type="button" className="small" onClick={() => test(endpoint)} aria-label={`Send a test event to ${endpoint.url}`}>
                Send test
              </button>
              <button type="button" className="secondary outline small" onClick={() => setSelected(endpoint.id)}
                aria-label={`Show deliveries to ${endpoint.url}`} aria-pressed={shown?.id === endpoint.id}>
                Deliveries
              </button>
              <button type="button" className="secondary outline small" onClick={() => setEnabled(endpoint, !endpoint.enabled)}
                aria-label={`${endpoint.enabled ? "Disable" : "Enable"} ${endpoint.url}`}>
                {endpoint.enabled ? "Disable" : "Enable"}
              </button>
              <button type="button" className="secondary outline small" onClick={() => setConfirm({ endpoint, action: "rotate" })}
                aria-label={`Rotate the secret of ${endpoint.url}`}>
                Rotate secret
              </button>
              <button type="button" className="danger outline small" onClick={() => setConfirm({ endpoint, action: "delete" })}
                aria-label={`Delete ${endpoint.url}`}>
                Delete
              </button>
            </footer>
          </article>
        ))}
      </div>
      {shown ? <DeliveryLog key={`${shown.id}-${logVersion}`} endpoint={shown} /> : null}
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.action === "rotate" ? "Rotate the signing secret?" : "Delete this endpoint?"}
        confirmLabel={confirm?.action === "rotate" ? "Rotate secret" : "Delete endpoint"}
        onConfirm={act}
        onCancel={() => setConfirm(null)}
        busy={rotateState.fetching || deleteState.fetching}
      >
        <p>
          {confirm?.action === "rotate"
            ? `A new secret is shown once. The old one keeps signing requests to ${confirm.endpoint.url} beside it for 24 hours, so you can switch without missing an event.`
            : `No more events go to ${confirm?.endpoint.url ?? ""}, and its delivery log is deleted. This cannot be undone.`}
        </p>
      </ConfirmDialog>
    </section>
  );
}

function NewEndpoint({ onCreated }: { onCreated: (endpoint: Endpoint, secret: string) => void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<WebhookEventType[]>(["JOB_SUCCEEDED", "JOB_FAILED"]);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [state, create] = useMutation(CreateWebhookEndpointMutation);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFields({});
    setError("");
    const missing: Record<string, string> = {};
    if (!url.trim()) missing.url = "Enter the URL your server receives events at.";
    if (events.length === 0) missing.events = "Choose at least one event.";
    if (Object.keys(missing).length) {
      setFields(missing);
      return;
    }
    const input = { url: url.trim(), events, description: description.trim() || null };
    const data = answerOf(await create({ input }), (d) => d.createWebhookEndpoint, {
      error: setError,
      fields: setFields,
      shown: ["url", "events", "description"],
    });
    if (data) {
      setUrl("");
      setDescription("");
      onCreated(data.endpoint, data.secret);
    }
  };

  return (
    <form onSubmit={submit} className="card" noValidate aria-labelledby="new-endpoint-title">
      <h2 id="new-endpoint-title">Add an endpoint</h2>
      <div className="grid-2 stack-phone">
        <Field label="URL" name="webhookUrl" type="url" inputMode="url" required value={url} onChange={(e) => setUrl(e.target.value)}
          error={fields.url} placeholder="https://example.com/neurall-events" hint="An https:// address your server answers with a 2xx." />
        <Field label="Description (optional)" name="webhookDescription" value={description}
          onChange={(e) => setDescription(e.target.value)} error={fields.description} placeholder="e.g. production" />
      </div>
      <fieldset aria-describedby={fields.events ? "events-error" : undefined} className="event-choices">
        <legend>Events</legend>
        {EVENTS.map(({ event, label }) => (
          <label key={event} htmlFor={`event-${event}`}>
            <input
              id={`event-${event}`}
              type="checkbox"
              checked={events.includes(event)}
              onChange={(e) => setEvents(e.target.checked ? [...events, event] : events.filter((x) => x !== event))}
            />
            {label}
          </label>
        ))}
        {fields.events ? <small id="events-error" className="field-error">{fields.events}</small> : null}
      </fieldset>
      <ErrorNote>{error}</ErrorNote>
      <button type="submit" disabled={state.fetching} aria-busy={state.fetching || undefined}>
        Add endpoint
      </button>
    </form>
  );
}

function DeliveryLog({ endpoint }: { endpoint: Endpoint }) {
  const client = useClient();
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [said, setSaid] = useState("");
  const [redeliverState, redeliver] = useMutation(RedeliverWebhookMutation);

  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      const result = await client
        .query(WebhookDeliveriesQuery, { endpointId: endpoint.id, first: PAGE, after }, { requestPolicy: "network-only" })
        .toPromise();
      setLoading(false);
      if (result.error || !result.data) {
        setError(errorMessage(result.error));
        return;
      }
      const page = result.data.webhookDeliveries;
      setDeliveries((prev) => [...(after ? prev : []), ...page.edges.map((e) => e.node)]);
      setCursor(page.pageInfo.endCursor ?? null);
      setHasMore(page.pageInfo.hasNextPage);
    },
    [client, endpoint.id],
  );
  useEffect(() => {
    void load(null);
  }, [load]);
  // While a delivery is still on its way, look again every few seconds.
  const inFlight = deliveries.some((d) => d.status === "PENDING" || d.status === "RETRYING");
  useEffect(() => {
    if (!inFlight) return;
    const timer = window.setTimeout(() => void load(null), 2000);
    return () => window.clearTimeout(timer);
  }, [inFlight, deliveries, load]);

  const again = async (delivery: Delivery) => {
    setError("");
    setSaid("");
    const data = answerOf(await redeliver({ deliveryId: delivery.id }), (d) => d.redeliverWebhook, { error: setError });
    if (data) {
      setSaid(`${EVENT_NAMES[delivery.eventType] ?? delivery.eventType} sent again, with the same webhook-id.`);
      void load(null);
    }
  };

  return (
    <section aria-labelledby="log-title" className="delivery-log">
      <div className="page-head">
        <h2 id="log-title">Deliveries to {endpoint.url}</h2>
        <button type="button" className="secondary outline small" onClick={() => void load(null)}>
          Refresh
        </button>
      </div>
      <SuccessNote>{said}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
      {!loading && deliveries.length === 0 && !error ? (
        <Empty>Nothing sent yet. “Send test” sends a signed test event now.</Empty>
      ) : null}
      {deliveries.length ? (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Attempts</th>
                <th scope="col" className="num">Response</th>
                <th scope="col" className="num">Time</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-testid="delivery-row">
                  <td className="nowrap">{formatDate(d.createdAt)}</td>
                  <td>
                    {EVENT_NAMES[d.eventType] ?? d.eventType}
                    <br />
                    <small><code title="webhook-id">{d.eventId}</code></small>
                  </td>
                  <td>
                    <span className={`badge badge-${d.status === "SUCCEEDED" ? "succeeded" : d.status === "FAILED" ? "failed" : "queued"}`}>
                      {d.status.toLowerCase()}
                    </span>
                    {d.nextAttemptAt && d.status === "RETRYING" ? <small> next try {formatDate(d.nextAttemptAt)}</small> : null}
                  </td>
                  <td className="num">{d.attempts}</td>
                  <td className="num">{d.responseStatus ?? "—"}</td>
                  <td className="num">{d.durationMs === null || d.durationMs === undefined ? "—" : `${d.durationMs} ms`}</td>
                  <td>
                    <button type="button" className="secondary outline small" disabled={redeliverState.fetching}
                      onClick={() => again(d)} aria-label={`Redeliver ${EVENT_NAMES[d.eventType] ?? d.eventType} ${d.eventId}`}>
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {loading && !deliveries.length ? <Loading what="the delivery log" /> : null}
      {hasMore && !loading ? (
        <button type="button" className="secondary outline" onClick={() => load(cursor)}>
          Older deliveries
        </button>
      ) : null}
    </section>
  );
}
