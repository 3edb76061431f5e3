// RAG configurations: named, versioned pipeline parameters. Every save is a new version; the API's
// validation messages are shown next to the field they concern.

import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import type { RagConfig, RagParams } from "../api/types";
import { Dialog, Empty, ErrorMessage, Field, Loaded, PageHeader, useAsync, when } from "../components/ui";
import { splitList } from "../schemaForm";
import { useSession } from "../session";

type Form = Record<keyof RagParams | "name" | "labels" | "exclude_labels" | "is_default", string | boolean>;

const NUMBERS: (keyof RagParams)[] = [
  "lexical_weight",
  "candidates",
  "top_k",
  "rerank_depth",
  "context_window",
  "temperature",
  "max_tokens",
];

function toForm(c: RagConfig | null): Form {
  const p = c?.params ?? {};
  const f: Partial<Form> = {
    name: c?.name ?? "",
    is_default: c?.is_default ?? false,
    mode: p.mode ?? "",
    rerank: p.rerank === true ? "true" : p.rerank === false ? "false" : "",
    llm_model: p.llm_model ?? "",
    system_prompt: p.system_prompt ?? "",
    citation_style: p.citation_style ?? "",
    answer_language: p.answer_language ?? "",
    labels: (p.filters?.labels ?? []).join(", "),
    exclude_labels: (p.filters?.exclude_labels ?? []).join(", "),
  };
  for (const k of NUMBERS) f[k] = p[k] === undefined || p[k] === null ? "" : String(p[k]);
  return f as Form;
}

/** Only what was filled in: unset parameters take the server's defaults. */
export function toParams(f: Form): RagParams {
  const p: Record<string, unknown> = {};
  const s = (k: keyof Form) => (typeof f[k] === "string" ? (f[k] as string).trim() : "");
  for (const k of NUMBERS) if (s(k)) p[k] = Number(s(k));
  for (const k of ["mode", "llm_model", "system_prompt", "citation_style", "answer_language"] as const) {
    if (s(k)) p[k] = s(k);
  }
  if (s("rerank")) p.rerank = s("rerank") === "true";
  const labels = splitList(s("labels"));
  const exclude = splitList(s("exclude_labels"));
  if (labels.length || exclude.length) {
    p.filters = { ...(labels.length ? { labels } : {}), ...(exclude.length ? { exclude_labels: exclude } : {}) };
  }
  return p as RagParams;
}

export function RagConfigs() {
  const { client, can } = useSession();
  const configs = useAsync(() => client.get<RagConfig[]>("/v1/rag-configs"), [client]);
  const [editing, setEditing] = useState<RagConfig | "new" | null>(null);
  const [history, setHistory] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const writer = can("rag:config");
  return (
    <section className="page">
      <PageHeader title="RAG configurations">
        {writer && (
          <button type="button" onClick={() => setEditing("new")}>
            New configuration
          </button>
        )}
      </PageHeader>
      <ErrorMessage error={error} />
      <Loaded state={configs} label="Loading configurations…">
        {(items) =>
          items.length === 0 ? (
            <Empty>No configurations: queries use the server's defaults.</Empty>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Version</th>
                  <th scope="col">Parameters</th>
                  <th scope="col">Saved</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <tr key={c.id}>
                    <td>
                      {c.name} {c.is_default && <span className="badge">default</span>}
                    </td>
                    <td>v{c.version}</td>
                    <td>
                      <code className="wrap">{JSON.stringify(c.params)}</code>
                    </td>
                    <td>{when(c.created_at)}</td>
                    <td className="row">
                      <button type="button" className="secondary" onClick={() => setHistory(c.name)}>
                        Versions
                      </button>
                      {writer && (
                        <>
                          <button type="button" className="secondary" onClick={() => setEditing(c)}>
                            Edit
                          </button>
                          <button
                            type="button"
                            className="danger"
                            onClick={async () => {
                              if (!window.confirm(`Delete configuration ${c.name}?`)) return;
                              try {
                                await client.delete(`/v1/rag-configs/${encodeURIComponent(c.name)}`);
                                configs.reload();
                              } catch (err) {
                                setError(err);
                              }
                            }}
                          >
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {editing && (
        <ConfigForm
          config={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            configs.reload();
          }}
        />
      )}
      {history && <Versions name={history} onClose={() => setHistory(null)} />}
    </section>
  );
}

function ConfigForm({
  config,
  onClose,
  onSaved,
}: {
  config: RagConfig | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { client } = useSession();
  const [form, setForm] = useState<Form>(() => toForm(config));
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const set = (k: keyof Form, v: string | boolean) => setForm((f) => ({ ...f, [k]: v }));
  const str = (k: keyof Form) => String(form[k] ?? "");
  const err = (k: string) => fieldErrors[k] ?? fieldErrors[`params.${k}`];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFieldErrors({});
    try {
      const params = toParams(form);
      if (config) {
        await client.put(`/v1/rag-configs/${encodeURIComponent(config.name)}`, {
          params,
          is_default: form.is_default === true,
        });
      } else {
        await client.post("/v1/rag-configs", { name: str("name").trim(), params, is_default: form.is_default === true });
      }
      onSaved();
    } catch (x) {
      setError(x);
      if (x instanceof ApiError) setFieldErrors(x.fieldMessages());
    }
  };

  const num = (k: keyof RagParams, label: string, hint?: string) => (
    <Field label={label} hint={hint} error={err(k)}>
      {(p) => <input {...p} type="number" step="any" value={str(k)} onChange={(e) => set(k, e.target.value)} />}
    </Field>
  );

  return (
    <Dialog title={config ? `Edit ${config.name} (a new version)` : "New configuration"} onClose={onClose} wide>
      <form className="grid" onSubmit={submit}>
        <Field label="Name" required error={err("name")}>
          {(p) => <input {...p} value={str("name")} disabled={!!config} onChange={(e) => set("name", e.target.value)} />}
        </Field>
        <Field label="Retrieval mode" error={err("mode")}>
          {(p) => (
            <select {...p} value={str("mode")} onChange={(e) => set("mode", e.target.value)}>
              <option value="">default</option>
              <option>hybrid</option>
              <option>dense</option>
              <option>lexical</option>
            </select>
          )}
        </Field>
        {num("top_k", "Passages (top_k)")}
        {num("candidates", "Candidates per retriever")}
        {num("lexical_weight", "Lexical weight", "0–1, hybrid mode")}
        <Field label="Rerank" error={err("rerank")}>
          {(p) => (
            <select {...p} value={str("rerank")} onChange={(e) => set("rerank", e.target.value)}>
              <option value="">default</option>
              <option value="true">yes</option>
              <option value="false">no</option>
            </select>
          )}
        </Field>
        {num("rerank_depth", "Rerank depth")}
        {num("context_window", "Context window (tokens)")}
        <Field label="LLM model" error={err("llm_model")}>
          {(p) => <input {...p} value={str("llm_model")} onChange={(e) => set("llm_model", e.target.value)} />}
        </Field>
        {num("temperature", "Temperature")}
        {num("max_tokens", "Max answer tokens")}
        <Field label="Citation style" error={err("citation_style")}>
          {(p) => (
            <select {...p} value={str("citation_style")} onChange={(e) => set("citation_style", e.target.value)}>
              <option value="">default</option>
              <option value="numeric">numeric</option>
              <option value="none">none</option>
            </select>
          )}
        </Field>
        <Field label="Answer language" error={err("answer_language")}>
          {(p) => <input {...p} value={str("answer_language")} onChange={(e) => set("answer_language", e.target.value)} />}
        </Field>
        <Field label="Only labels" hint="Comma-separated" error={err("filters")}>
          {(p) => <input {...p} value={str("labels")} onChange={(e) => set("labels", e.target.value)} />}
        </Field>
        <Field label="Exclude labels" hint="Comma-separated">
          {(p) => <input {...p} value={str("exclude_labels")} onChange={(e) => set("exclude_labels", e.target.value)} />}
        </Field>
        <div className="span-all">
          <Field label="System prompt" error={err("system_prompt")}>
            {(p) => <textarea {...p} rows={3} value={str("system_prompt")} onChange={(e) => set("system_prompt", e.target.value)} />}
          </Field>
        </div>
        <label className="check span-all">
          <input type="checkbox" checked={form.is_default === true} onChange={(e) => set("is_default", e.target.checked)} /> The
          organisation's default
        </label>
        <div className="span-all">
          <ErrorMessage error={error} />
        </div>
        <div className="span-all row">
          <button type="submit">Save</button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Versions({ name, onClose }: { name: string; onClose: () => void }) {
  const { client } = useSession();
  const versions = useAsync(
    () => client.get<RagConfig[]>(`/v1/rag-configs/${encodeURIComponent(name)}/versions`),
    [client, name],
  );
  return (
    <Dialog title={`Versions of ${name}`} onClose={onClose} wide>
      <Loaded state={versions}>
        {(items) => (
          <ol className="versions">
            {items.map((v) => (
              <li key={v.id}>
                <strong>v{v.version}</strong> · {when(v.created_at)}
                <code className="wrap">{JSON.stringify(v.params)}</code>
              </li>
            ))}
          </ol>
        )}
      </Loaded>
    </Dialog>
  );
}
