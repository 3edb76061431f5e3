// Search playground: the retrieval step alone, with its knobs (mode, top_k, filters, config), the
// scores and the matching words highlighted — for tuning a configuration.

import { useState, type FormEvent } from "react";
import type { RagConfig, SearchFilters, SearchMode, SearchResponse } from "../api/types";
import { Empty, ErrorMessage, Field, Loading, PageHeader, useAsync } from "../components/ui";
import { highlight } from "../highlight";
import { Link } from "../router";
import { splitList } from "../schemaForm";
import { useSession } from "../session";

export function Search() {
  const { client } = useSession();
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<SearchMode>("hybrid");
  const [topK, setTopK] = useState("10");
  const [labels, setLabels] = useState("");
  const [exclude, setExclude] = useState("");
  const [metadata, setMetadata] = useState("");
  const [config, setConfig] = useState("");
  const [result, setResult] = useState<{ query: string; response: SearchResponse } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const configs = useAsync(() => client.get<RagConfig[]>("/v1/rag-configs"), [client]);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    const filters: SearchFilters = {};
    if (splitList(labels).length) filters.labels = splitList(labels);
    if (splitList(exclude).length) filters.exclude_labels = splitList(exclude);
    const errors: Record<string, string> = {};
    if (metadata.trim()) {
      try {
        filters.metadata = JSON.parse(metadata) as Record<string, unknown>;
      } catch {
        errors.metadata = 'Metadata must be a JSON object, e.g. {"team": "sales"}';
      }
    }
    setFieldError(errors);
    if (Object.keys(errors).length) return;
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { query, mode, top_k: Number(topK), filters };
      if (config) body.config = config;
      const response = await client.post<SearchResponse>("/v1/search", body);
      setResult({ query, response });
    } catch (err) {
      setError(err);
      setResult(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page">
      <PageHeader title="Search playground" />
      <form className="card grid" onSubmit={run}>
        <div className="span-all">
          <Field label="Query" required>
            {(p) => <input {...p} value={query} onChange={(e) => setQuery(e.target.value)} />}
          </Field>
        </div>
        <Field label="Mode">
          {(p) => (
            <select {...p} value={mode} onChange={(e) => setMode(e.target.value as SearchMode)}>
              <option value="hybrid">hybrid</option>
              <option value="dense">dense</option>
              <option value="lexical">lexical</option>
            </select>
          )}
        </Field>
        <Field label="Results (top_k)">
          {(p) => (
            <input {...p} type="number" min={1} max={100} value={topK} onChange={(e) => setTopK(e.target.value)} />
          )}
        </Field>
        <Field label="Configuration">
          {(p) => (
            <select {...p} value={config} onChange={(e) => setConfig(e.target.value)}>
              <option value="">None (request parameters only)</option>
              {(configs.data ?? []).map((c) => (
                <option key={c.id} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Only labels" hint="Comma-separated; documents must have all.">
          {(p) => <input {...p} value={labels} onChange={(e) => setLabels(e.target.value)} />}
        </Field>
        <Field label="Exclude labels" hint="Comma-separated.">
          {(p) => <input {...p} value={exclude} onChange={(e) => setExclude(e.target.value)} />}
        </Field>
        <Field label="Metadata filter" hint="A JSON object the document metadata must contain." error={fieldError.metadata}>
          {(p) => <input {...p} value={metadata} onChange={(e) => setMetadata(e.target.value)} />}
        </Field>
        <div className="span-all row">
          <button type="submit" disabled={busy || !query.trim()}>
            Search
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      {busy && <Loading label="Searching…" />}
      {result && !busy && <Results query={result.query} response={result.response} />}
    </section>
  );
}

function Results({ query, response }: { query: string; response: SearchResponse }) {
  if (response.blocked) {
    return (
      <p className="state error" role="alert">
        Blocked by a rule: {response.blocked}
      </p>
    );
  }
  const timings = Object.entries(response.timings_ms)
    .map(([k, v]) => `${k.replace(/_ms$/, "")} ${v} ms`)
    .join(" · ");
  return (
    <section aria-label="Results" className="results">
      <p className="meta" role="status">
        {response.results.length} result(s), mode {response.mode}
        {timings && ` — ${timings}`}
      </p>
      {response.results.length === 0 && <Empty>Nothing matched. Try other words or fewer filters.</Empty>}
      <ol>
        {response.results.map((r) => (
          <li key={r.chunk_id} className="result">
            <div className="result-head">
              <Link to={`/documents/${r.document_id}`}>{r.title}</Link>
              <span className="score" title="Fused relevance score">
                score {r.score.toFixed(4)}
              </span>
            </div>
            <p className="snippet">
              {highlight(r.content, query).map((s, i) => (s.match ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>))}
            </p>
            {(r.labels?.length ?? 0) > 0 && (
              <p className="labels">
                {r.labels?.map((l) => (
                  <span key={l} className="badge">
                    {l}
                  </span>
                ))}
              </p>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
