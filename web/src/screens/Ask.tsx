// Ask: a conversation whose answers stream in (POST /v1/chat, stream: true, read as SSE over
// fetch). Citation markers become numbered chips that open the cited passage and its document;
// each answer can be rated 1–5 with a comment. The conversation is kept for the browser session.

import { useEffect, useRef, useState, type FormEvent } from "react";
import type { ChatDone, ChunkOut, Citation, DocumentOut, RagConfig } from "../api/types";
import { Dialog, ErrorMessage, Field, Loaded, Loading, PageHeader, message, useAsync } from "../components/ui";
import { chatKey } from "../chatKey";
import { citationParts } from "../highlight";
import { Link } from "../router";
import { useSession } from "../session";

interface Turn {
  key: string;
  query: string;
  config: string;
  answer: string;
  citations: Citation[];
  queryId: string | null;
  blocked: boolean;
  status: "streaming" | "done" | "error";
  error?: string;
  rating?: number;
}



export function Ask() {
  const { client, me } = useSession();
  const storeKey = chatKey(me?.organization_id ?? "", me?.user_id ?? "");
  const [turns, setTurns] = useState<Turn[]>(() => {
    try {
      const saved = JSON.parse(sessionStorage.getItem(storeKey) ?? "[]") as Turn[];
      // A stream cut by a reload cannot resume.
      return saved.map((t) =>
        t.status === "streaming" ? { ...t, status: "error", error: "Interrupted." } : t,
      );
    } catch {
      return [];
    }
  });
  const [query, setQuery] = useState("");
  const [config, setConfig] = useState("");
  const [open, setOpen] = useState<Citation | null>(null);
  const abort = useRef<AbortController | null>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const configs = useAsync(() => client.get<RagConfig[]>("/v1/rag-configs"), [client]);
  const busy = turns.some((t) => t.status === "streaming");

  useEffect(() => {
    sessionStorage.setItem(storeKey, JSON.stringify(turns));
  }, [turns, storeKey]);
  useEffect(() => () => abort.current?.abort(), []);

  const update = (key: string, change: (t: Turn) => Turn) =>
    setTurns((all) => all.map((t) => (t.key === key ? change(t) : t)));

  const ask = async (e: FormEvent) => {
    e.preventDefault();
    const text = query.trim();
    if (!text || busy) return;
    const key = crypto.randomUUID();
    const turn: Turn = {
      key,
      query: text,
      config,
      answer: "",
      citations: [],
      queryId: null,
      blocked: false,
      status: "streaming",
    };
    setTurns((all) => [...all, turn]);
    setQuery("");
    abort.current = new AbortController();
    const body: Record<string, unknown> = { query: text, stream: true };
    if (config) body.config = config;
    try {
      await client.stream(
        "/v1/chat",
        body,
        (event) => {
          const data = JSON.parse(event.data) as Record<string, unknown>;
          if (event.event === "delta") {
            update(key, (t) => ({ ...t, answer: t.answer + String(data.text ?? "") }));
          } else if (event.event === "done") {
            const done = data as unknown as ChatDone;
            update(key, (t) => ({
              ...t,
              answer: done.answer,
              citations: done.citations,
              queryId: done.query_id,
              blocked: done.blocked === true,
              status: "done",
            }));
          } else if (event.event === "error") {
            update(key, (t) => ({ ...t, status: "error", error: String(data.detail ?? "failed") }));
          }
        },
        abort.current.signal,
      );
      update(key, (t) =>
        t.status === "streaming" ? { ...t, status: "error", error: "The answer was cut off." } : t,
      );
    } catch (err) {
      update(key, (t) => ({ ...t, status: "error", error: message(err) }));
    }
    setTimeout(() => bottom.current?.scrollIntoView({ block: "end" }), 0);
  };

  return (
    <section className="page ask">
      <PageHeader title="Ask">
        {turns.length > 0 && (
          <button type="button" className="secondary" disabled={busy} onClick={() => setTurns([])}>
            Clear conversation
          </button>
        )}
      </PageHeader>
      <ol className="conversation" aria-label="Conversation" aria-live="polite">
        {turns.length === 0 && (
          <li className="state empty">Ask a question about your organisation's documents.</li>
        )}
        {turns.map((t) => (
          <TurnView key={t.key} turn={t} onCite={setOpen} onRated={(r) => update(t.key, (x) => ({ ...x, rating: r }))} />
        ))}
      </ol>
      <div ref={bottom} />
      <form className="ask-form" onSubmit={ask}>
        <Field label="Your question">
          {(p) => (
            <textarea
              {...p}
              rows={2}
              value={query}
              placeholder="e.g. How many days do customers have to return a product?"
              onChange={(e) => setQuery(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  e.currentTarget.form?.requestSubmit();
                }
              }}
            />
          )}
        </Field>
        <div className="row">
          <Field label="Configuration">
            {(p) => (
              <select {...p} value={config} onChange={(e) => setConfig(e.target.value)}>
                <option value="">Organisation default</option>
                {(configs.data ?? []).map((c) => (
                  <option key={c.id} value={c.name}>
                    {c.name} (v{c.version}){c.is_default ? " · default" : ""}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" disabled={busy || !query.trim()}>
            {busy ? "Answering…" : "Ask"}
          </button>
        </div>
        {configs.error ? <ErrorMessage error={configs.error} retry={configs.reload} /> : null}
      </form>
      {open && <CitationDialog citation={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

function TurnView({
  turn: t,
  onCite,
  onRated,
}: {
  turn: Turn;
  onCite: (c: Citation) => void;
  onRated: (rating: number) => void;
}) {
  const byN = new Map(t.citations.map((c) => [c.n, c]));
  return (
    <li className="turn">
      <p className="question">
        <span className="visually-hidden">You asked: </span>
        {t.query}
      </p>
      <div className={t.blocked ? "answer blocked" : "answer"} aria-busy={t.status === "streaming"}>
        {t.blocked && <strong className="badge status-failed">Blocked by a rule</strong>}
        <p>
          {citationParts(t.answer).map((part, i) => {
            if (typeof part === "string") return <span key={i}>{part}</span>;
            const c = byN.get(part);
            return c ? (
              <button
                key={i}
                type="button"
                className="chip"
                aria-label={`Source ${part}: ${c.title}`}
                onClick={() => onCite(c)}
              >
                {part}
              </button>
            ) : (
              <span key={i}>[{part}]</span>
            );
          })}
          {t.status === "streaming" && <span className="cursor" aria-hidden="true" />}
        </p>
        {t.status === "streaming" && t.answer === "" && <Loading label="Searching your documents…" />}
        {t.error && <ErrorMessage error={new Error(t.error)} />}
        {t.citations.length > 0 && (
          <div className="sources">
            <span>Sources:</span>
            <ul>
              {t.citations.map((c) => (
                <li key={c.n}>
                  <button type="button" className="chip wide" onClick={() => onCite(c)}>
                    <span className="n">{c.n}</span> {c.title}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        {t.status === "done" && t.queryId && !t.blocked && (
          <Feedback queryId={t.queryId} rating={t.rating} onRated={onRated} />
        )}
      </div>
    </li>
  );
}

function Feedback({
  queryId,
  rating,
  onRated,
}: {
  queryId: string;
  rating?: number;
  onRated: (r: number) => void;
}) {
  const { client } = useSession();
  const [value, setValue] = useState(0);
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (rating) {
    return (
      <p className="rated" role="status">
        Thanks — you rated this answer {rating}/5.
      </p>
    );
  }
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await client.post(`/v1/queries/${queryId}/feedback`, {
        rating: value,
        comment: comment.trim() || null,
      });
      onRated(value);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="feedback" onSubmit={send}>
      <fieldset>
        <legend>Rate this answer</legend>
        <div className="stars">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} className={n <= value ? "star on" : "star"}>
              <input
                type="radio"
                name={`rating-${queryId}`}
                value={n}
                checked={value === n}
                onChange={() => setValue(n)}
              />
              <span aria-hidden="true">★</span>
              <span className="visually-hidden">{n} of 5</span>
            </label>
          ))}
        </div>
      </fieldset>
      {value > 0 && (
        <>
          <Field label="Comment (optional)">
            {(p) => <input {...p} value={comment} onChange={(e) => setComment(e.target.value)} />}
          </Field>
          <button type="submit" disabled={busy}>
            Send rating
          </button>
        </>
      )}
      <ErrorMessage error={error} />
    </form>
  );
}

function CitationDialog({ citation: c, onClose }: { citation: Citation; onClose: () => void }) {
  const { client } = useSession();
  const doc = useAsync(
    async () => {
      const [document, chunks] = await Promise.all([
        client.get<DocumentOut>(`/v1/documents/${c.document_id}`),
        client.get<ChunkOut[]>(`/v1/documents/${c.document_id}/chunks`),
      ]);
      return { document, chunk: chunks.find((x) => x.id === c.chunk_id) ?? null };
    },
    [c.document_id, c.chunk_id],
  );
  return (
    <Dialog title={`Source ${c.n}: ${c.title}`} onClose={onClose} wide>
      <h3>Cited passage</h3>
      <blockquote className="passage">{c.snippet}</blockquote>
      <Loaded state={doc} label="Loading the document…">
        {({ document, chunk }) => (
          <>
            {chunk && chunk.content !== c.snippet && (
              <>
                <h3>Whole passage (chunk {chunk.chunk_number})</h3>
                <blockquote className="passage">{chunk.content}</blockquote>
              </>
            )}
            <h3>Source document</h3>
            <dl className="facts">
              <dt>Title</dt>
              <dd>{document.title}</dd>
              <dt>Status</dt>
              <dd>{document.status}</dd>
              {document.labels.length > 0 && (
                <>
                  <dt>Labels</dt>
                  <dd>{document.labels.join(", ")}</dd>
                </>
              )}
              {document.filename && (
                <>
                  <dt>File</dt>
                  <dd>{document.filename}</dd>
                </>
              )}
            </dl>
            <p className="row">
              <Link to={`/documents/${document.id}`} onClick={onClose}>
                Open the document and all its passages
              </Link>
              {c.url && (
                <a href={c.url} target="_blank" rel="noreferrer">
                  Original ↗
                </a>
              )}
            </p>
          </>
        )}
      </Loaded>
    </Dialog>
  );
}
