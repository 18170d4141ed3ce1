import { useCallback, useEffect, useRef, useState } from "react";
import { useClient, useMutation, useQuery } from "urql";
import { ConfirmDialog, Empty, ErrorNote, Loading, StatusBadge, SuccessNote } from "../components/ui";
import type { HistoryQuery as HistoryData, JobFieldsFragment } from "../gql/graphql";
import { answerOf } from "../lib/answer";
import { errorMessage } from "../lib/client";
import { formatCredits, formatDate } from "../lib/format";
import { SCHEDULER_NAMES, modelName, useModels } from "../lib/models";
import { ClearHistoryMutation, DeleteHistoryItemMutation, HistoryQuery, JobQuery } from "../lib/operations";
import { Link, useRouter } from "../lib/router";
import { useSession } from "../lib/session";

type Item = HistoryData["history"]["edges"][number]["node"];
const PAGE = 24;

export function HistoryPage() {
  const client = useClient();
  const { refresh } = useSession();
  const [items, setItems] = useState<Item[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(true);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [confirmClear, setConfirmClear] = useState(false);
  const [clearState, clearHistory] = useMutation(ClearHistoryMutation);
  const sentinel = useRef<HTMLDivElement>(null);
  const loadingRef = useRef(false);

  const loadMore = useCallback(
    async (after: string | null, reset = false) => {
      if (loadingRef.current) return;
      loadingRef.current = true;
      setLoading(true);
      const result = await client.query(HistoryQuery, { first: PAGE, after }, { requestPolicy: "network-only" }).toPromise();
      loadingRef.current = false;
      setLoading(false);
      if (result.error || !result.data) {
        setError(errorMessage(result.error));
        return;
      }
      const page = result.data.history;
      setError("");
      setItems((prev) => [...(reset ? [] : prev), ...page.edges.map((e) => e.node)]);
      setCursor(page.pageInfo.endCursor ?? null);
      setHasMore(page.pageInfo.hasNextPage);
    },
    [client],
  );

  useEffect(() => {
    void loadMore(null, true);
  }, [loadMore]);

  // Infinite scroll: the next page loads when the end of the gallery comes into view.
  useEffect(() => {
    const node = sentinel.current;
    if (!node || !hasMore) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !loadingRef.current && cursor) void loadMore(cursor);
    }, { rootMargin: "400px" });
    observer.observe(node);
    return () => observer.disconnect();
  }, [cursor, hasMore, loadMore]);

  const clear = async () => {
    const result = await clearHistory({});
    setConfirmClear(false);
    const data = answerOf(result, (d) => d.clearHistory, { error: setError });
    if (data) {
      setItems([]);
      setHasMore(false);
      setNotice(`Deleted ${data.deletedCount} item${data.deletedCount === 1 ? "" : "s"} and their images.`);
      refresh();
    }
  };

  return (
    <section>
      <div className="page-head">
        <hgroup>
          <h1>History</h1>
          <p>Every image you made in the playground, newest first. Deleting removes the prompt, settings and images for good.</p>
        </hgroup>
        {items.length ? (
          <button type="button" className="danger outline" onClick={() => setConfirmClear(true)}>
            Clear all
          </button>
        ) : null}
      </div>
      <SuccessNote>{notice}</SuccessNote>
      <ErrorNote>{error}</ErrorNote>
      {items.length === 0 && !loading && !error ? (
        <Empty>
          Nothing here yet. <Link href="/">Generate your first image</Link>; it will be kept here until you delete it.
        </Empty>
      ) : null}
      <ul className="gallery" aria-label="Your images">
        {items.map((item) => (
          <li key={item.id}>
            <Link href={`/history/${encodeURIComponent(item.job.id)}`} className="gallery-item" aria-label={`${item.job.params?.prompt ?? "Job"}, ${formatDate(item.createdAt)}`}>
              {item.job.images[0] ? (
                <img src={item.job.images[0].url} alt="" loading="lazy" width={item.job.images[0].width} height={item.job.images[0].height} />
              ) : (
                <span className="gallery-missing">
                  <StatusBadge status={item.job.status} />
                </span>
              )}
              <span className="gallery-caption">{item.job.params?.prompt ?? "(no prompt kept)"}</span>
            </Link>
          </li>
        ))}
      </ul>
      <div ref={sentinel} className="sentinel" />
      {loading ? <Loading what="your history" /> : null}
      {hasMore && !loading && items.length ? (
        <button type="button" className="secondary outline" onClick={() => cursor && loadMore(cursor)}>
          Load more
        </button>
      ) : null}
      <ConfirmDialog
        open={confirmClear}
        title="Clear your whole history?"
        confirmLabel="Delete everything"
        onConfirm={clear}
        onCancel={() => setConfirmClear(false)}
        busy={clearState.fetching}
      >
        <p>All prompts, settings and images in your history are deleted. Running jobs are canceled first. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

export function HistoryDetailPage({ jobId }: { jobId: string }) {
  const [result] = useQuery({ query: JobQuery, variables: { id: jobId }, requestPolicy: "network-only" });
  const [deleteState, deleteItem] = useMutation(DeleteHistoryItemMutation);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState("");
  const { navigate } = useRouter();
  const { refresh } = useSession();

  if (result.fetching && !result.data) return <Loading what="this image" />;
  if (result.error) return <ErrorNote>{errorMessage(result.error)}</ErrorNote>;
  const job = result.data?.job;
  if (!job) {
    return (
      <section>
        <h1>Not found</h1>
        <p>
          This item is not in your history: it may have been deleted. <Link href="/history">Back to history</Link>
        </p>
      </section>
    );
  }
  const remove = async () => {
    const response = await deleteItem({ id: job.id });
    setConfirm(false);
    if (answerOf(response, (d) => d.deleteHistoryItem, { error: setError })) {
      refresh();
      navigate("/history");
    }
  };
  return (
    <section>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href="/history">← History</Link>
      </nav>
      <h1 className="detail-title">{job.params?.prompt ?? "Job"}</h1>
      <ErrorNote>{error}</ErrorNote>
      <div className="detail-grid">
        <div className="results">
          {job.images.length ? (
            job.images.map((image, i) => (
              <figure key={image.url} className={image.flagged ? "flagged" : undefined}>
                <img src={image.url} alt={`Image ${i + 1}, seed ${image.seed}${image.flagged ? ", flagged and blurred" : ""}`} width={image.width} height={image.height} data-testid="detail-image" />
                <figcaption>
                  <a href={image.url} download={`neurall-${job.id}-${i + 1}.png`} role="button" className="small">
                    Download
                  </a>
                  <Link href={`/?again=${encodeURIComponent(job.id)}&start=${i}`} role="button" className="secondary outline small"
                    aria-label={job.images.length > 1 ? `Use image ${i + 1} as start` : undefined}>
                    Use as start
                  </Link>
                </figcaption>
              </figure>
            ))
          ) : (
            <Empty>This job has no images ({job.status.toLowerCase()}).</Empty>
          )}
        </div>
        <aside className="card">
          <JobParams job={job} />
          <div className="actions">
            <Link href={`/?again=${encodeURIComponent(job.id)}`} role="button">
              Generate again
            </Link>
            <button type="button" className="danger outline" onClick={() => setConfirm(true)}>
              Delete
            </button>
          </div>
        </aside>
      </div>
      <ConfirmDialog open={confirm} title="Delete this item?" confirmLabel="Delete" onConfirm={remove} onCancel={() => setConfirm(false)} busy={deleteState.fetching}>
        <p>The prompt, settings and images are deleted for good.</p>
      </ConfirmDialog>
    </section>
  );
}

function JobParams({ job }: { job: JobFieldsFragment }) {
  const p = job.params;
  const { models } = useModels();
  return (
    <dl className="params">
      <dt>Status</dt>
      <dd>
        <StatusBadge status={job.status} />
      </dd>
      <dt>Model</dt>
      <dd data-testid="job-model">{modelName(models, job.model ?? p?.model)}</dd>
      <dt>Created</dt>
      <dd>{formatDate(job.createdAt)}</dd>
      {p ? (
        <>
          {p.negativePrompt ? (
            <>
              <dt>Negative prompt</dt>
              <dd>{p.negativePrompt}</dd>
            </>
          ) : null}
          <dt>Size</dt>
          <dd>
            {p.width} × {p.height}
          </dd>
          <dt>Steps</dt>
          <dd>{p.steps}</dd>
          <dt>Guidance</dt>
          <dd>{p.guidanceScale}</dd>
          {p.scheduler !== "DEFAULT" ? (
            <>
              <dt>Scheduler</dt>
              <dd>{SCHEDULER_NAMES[p.scheduler]}</dd>
            </>
          ) : null}
          {p.mode !== "TEXT_TO_IMAGE" ? (
            <>
              <dt>Mode</dt>
              <dd>
                {p.mode === "INPAINT" ? "Inpainting" : "Image to image"}
                {p.strength !== null && p.strength !== undefined ? `, strength ${p.strength}` : ""}
              </dd>
            </>
          ) : null}
          <dt>Seed</dt>
          <dd>{p.seed}</dd>
          <dt>Images</dt>
          <dd>{p.numImages}</dd>
          {p.cloneId ? (
            <>
              <dt>Clone</dt>
              <dd>
                <code>{p.cloneId}</code>
              </dd>
            </>
          ) : null}
        </>
      ) : null}
      <dt>Cost</dt>
      <dd>{job.costCredits !== null && job.costCredits !== undefined ? formatCredits(job.costCredits) : `${formatCredits(job.heldCredits)} held`}</dd>
      {job.error ? (
        <>
          <dt>Error</dt>
          <dd>{job.error}</dd>
        </>
      ) : null}
    </dl>
  );
}
