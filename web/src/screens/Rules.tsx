// Rules and guardrails: CEL condition + action at a stage. The API checks the condition and the
// action (422 with the parser's message, shown here); the dry run shows what would fire.

import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import type { Rule, RuleDryRun, RuleType, Stage } from "../api/types";
import { Dialog, Empty, ErrorMessage, Field, Loaded, PageHeader, useAsync } from "../components/ui";
import { splitList } from "../schemaForm";
import { useSession } from "../session";

const ACTIONS = ["block", "redact", "restrict", "switch_config", "instruct", "require_citations", "cap_length"] as const;
type ActionType = (typeof ACTIONS)[number];
const STAGES: Stage[] = ["before_retrieval", "after_retrieval", "after_generation"];
const TYPES: RuleType[] = ["guardrail", "business_logic", "filter"];
const PII = ["email", "phone", "card", "iban", "national_id"];

interface RuleForm {
  name: string;
  type: RuleType;
  stage: Stage;
  condition: string;
  priority: string;
  active: boolean;
  action: ActionType;
  message: string;
  text: string;
  config: string;
  max_chars: string;
  labels: string;
  exclude_labels: string;
  metadata: string;
  targets: string[];
  kinds: string[];
}

function toForm(r: Rule | null): RuleForm {
  const a = (r?.action ?? { type: "block" }) as Record<string, unknown>;
  const list = (k: string) => (Array.isArray(a[k]) ? (a[k] as string[]) : []);
  return {
    name: r?.name ?? "",
    type: r?.type ?? "guardrail",
    stage: r?.stage ?? "before_retrieval",
    condition: r?.condition ?? "",
    priority: String(r?.priority ?? 100),
    active: r?.active ?? true,
    action: (a.type as ActionType) ?? "block",
    message: typeof a.message === "string" ? a.message : "",
    text: typeof a.text === "string" ? a.text : "",
    config: typeof a.config === "string" ? a.config : "",
    max_chars: a.max_chars === undefined ? "" : String(a.max_chars),
    labels: list("labels").join(", "),
    exclude_labels: list("exclude_labels").join(", "),
    metadata: a.metadata ? JSON.stringify(a.metadata) : "",
    targets: r ? list("targets") : ["query", "answer"],
    kinds: list("kinds"),
  };
}

/** The action object the API expects, from the form. */
export function actionOf(f: RuleForm): Record<string, unknown> {
  switch (f.action) {
    case "block":
      return { type: "block", message: f.message };
    case "instruct":
      return { type: "instruct", text: f.text };
    case "switch_config":
      return { type: "switch_config", config: f.config };
    case "cap_length":
      return { type: "cap_length", max_chars: Number(f.max_chars) };
    case "require_citations":
      return f.message.trim() ? { type: "require_citations", message: f.message } : { type: "require_citations" };
    case "redact":
      return { type: "redact", targets: f.targets, ...(f.kinds.length ? { kinds: f.kinds } : {}) };
    case "restrict": {
      const out: Record<string, unknown> = { type: "restrict" };
      if (splitList(f.labels).length) out.labels = splitList(f.labels);
      if (splitList(f.exclude_labels).length) out.exclude_labels = splitList(f.exclude_labels);
      if (f.metadata.trim()) out.metadata = JSON.parse(f.metadata) as unknown;
      return out;
    }
  }
}

export function Rules() {
  const { client } = useSession();
  const rules = useAsync(() => client.get<Rule[]>("/v1/rules"), [client]);
  const [editing, setEditing] = useState<Rule | "new" | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <section className="page">
      <PageHeader title="Rules">
        <button type="button" onClick={() => setEditing("new")}>
          New rule
        </button>
      </PageHeader>
      <ErrorMessage error={error} />
      <Loaded state={rules} label="Loading rules…">
        {(items) =>
          items.length === 0 ? (
            <Empty>No rules: every query runs unchanged.</Empty>
          ) : (
            <table className="table">
              <caption className="visually-hidden">Rules, in the order they run</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Condition</th>
                  <th scope="col">Action</th>
                  <th scope="col">Priority</th>
                  <th scope="col">Active</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.id} className={r.active ? "" : "muted"}>
                    <td>
                      {r.name} <small className="hint">{r.type}</small>
                    </td>
                    <td>{r.stage.replace("_", " ")}</td>
                    <td>
                      <code className="wrap">{r.condition}</code>
                    </td>
                    <td>
                      <code className="wrap">{JSON.stringify(r.action)}</code>
                    </td>
                    <td>{r.priority}</td>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`${r.name} active`}
                        checked={r.active}
                        onChange={async (e) => {
                          try {
                            await client.patch(`/v1/rules/${r.id}`, { active: e.target.checked });
                            rules.reload();
                          } catch (err) {
                            setError(err);
                          }
                        }}
                      />
                    </td>
                    <td className="row">
                      <button type="button" className="secondary" onClick={() => setEditing(r)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        className="danger"
                        onClick={async () => {
                          if (!window.confirm(`Delete rule ${r.name}?`)) return;
                          try {
                            await client.delete(`/v1/rules/${r.id}`);
                            rules.reload();
                          } catch (err) {
                            setError(err);
                          }
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      <DryRun />
      {editing && (
        <RuleEditor
          rule={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            rules.reload();
          }}
        />
      )}
    </section>
  );
}

function RuleEditor({ rule, onClose, onSaved }: { rule: Rule | null; onClose: () => void; onSaved: () => void }) {
  const { client } = useSession();
  const [f, setF] = useState<RuleForm>(() => toForm(rule));
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const set = <K extends keyof RuleForm>(k: K, v: RuleForm[K]) => setF((x) => ({ ...x, [k]: v }));
  const toggle = (k: "targets" | "kinds", v: string, on: boolean) =>
    set(k, on ? [...f[k], v] : f[k].filter((x) => x !== v));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFieldErrors({});
    let action: Record<string, unknown>;
    try {
      action = actionOf(f);
    } catch {
      setFieldErrors({ "action.metadata": "Metadata must be a JSON object" });
      return;
    }
    const body = {
      name: f.name,
      type: f.type,
      stage: f.stage,
      condition: f.condition,
      priority: Number(f.priority),
      active: f.active,
      action,
    };
    try {
      if (rule) await client.patch(`/v1/rules/${rule.id}`, body);
      else await client.post("/v1/rules", body);
      onSaved();
    } catch (x) {
      setError(x);
      if (x instanceof ApiError) setFieldErrors(x.fieldMessages());
    }
  };
  const fe = (k: string) => fieldErrors[k] ?? Object.entries(fieldErrors).find(([p]) => p.startsWith(`${k}.`))?.[1];

  return (
    <Dialog title={rule ? `Edit rule ${rule.name}` : "New rule"} onClose={onClose} wide>
      <form className="grid" onSubmit={submit}>
        <Field label="Name" required error={fe("name")}>
          {(p) => <input {...p} value={f.name} onChange={(e) => set("name", e.target.value)} />}
        </Field>
        <Field label="Type" error={fe("type")}>
          {(p) => (
            <select {...p} value={f.type} onChange={(e) => set("type", e.target.value as RuleType)}>
              {TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Stage" error={fe("stage")}>
          {(p) => (
            <select {...p} value={f.stage} onChange={(e) => set("stage", e.target.value as Stage)}>
              {STAGES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Priority" hint="Lower runs first" error={fe("priority")}>
          {(p) => <input {...p} type="number" value={f.priority} onChange={(e) => set("priority", e.target.value)} />}
        </Field>
        <div className="span-all">
          <Field
            label="Condition (CEL)"
            required
            hint='e.g. query.matches("(?i)\\bpasswords?\\b") or user.role == "viewer"'
            error={fe("condition")}
          >
            {(p) => (
              <textarea {...p} rows={2} className="mono" value={f.condition} onChange={(e) => set("condition", e.target.value)} />
            )}
          </Field>
        </div>
        <Field label="Action" error={fe("action")}>
          {(p) => (
            <select {...p} value={f.action} onChange={(e) => set("action", e.target.value as ActionType)}>
              {ACTIONS.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          )}
        </Field>
        {(f.action === "block" || f.action === "require_citations") && (
          <Field label="Message" required={f.action === "block"} hint="What the user is told" error={fe("action.message")}>
            {(p) => <input {...p} value={f.message} onChange={(e) => set("message", e.target.value)} />}
          </Field>
        )}
        {f.action === "instruct" && (
          <Field label="Instruction" required error={fe("action.text")}>
            {(p) => <input {...p} value={f.text} onChange={(e) => set("text", e.target.value)} />}
          </Field>
        )}
        {f.action === "switch_config" && (
          <Field label="Configuration name" required error={fe("action.config")}>
            {(p) => <input {...p} value={f.config} onChange={(e) => set("config", e.target.value)} />}
          </Field>
        )}
        {f.action === "cap_length" && (
          <Field label="Max characters" required error={fe("action.max_chars")}>
            {(p) => <input {...p} type="number" value={f.max_chars} onChange={(e) => set("max_chars", e.target.value)} />}
          </Field>
        )}
        {f.action === "restrict" && (
          <>
            <Field label="Only labels" hint="Comma-separated">
              {(p) => <input {...p} value={f.labels} onChange={(e) => set("labels", e.target.value)} />}
            </Field>
            <Field label="Exclude labels" hint="Comma-separated">
              {(p) => <input {...p} value={f.exclude_labels} onChange={(e) => set("exclude_labels", e.target.value)} />}
            </Field>
            <Field label="Metadata (JSON)" error={fe("action.metadata")}>
              {(p) => <input {...p} value={f.metadata} onChange={(e) => set("metadata", e.target.value)} />}
            </Field>
          </>
        )}
        {f.action === "redact" && (
          <>
            <fieldset>
              <legend>Redact in</legend>
              {["query", "answer"].map((t) => (
                <label key={t} className="check">
                  <input type="checkbox" checked={f.targets.includes(t)} onChange={(e) => toggle("targets", t, e.target.checked)} /> {t}
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>Kinds (none: all)</legend>
              {PII.map((k) => (
                <label key={k} className="check">
                  <input type="checkbox" checked={f.kinds.includes(k)} onChange={(e) => toggle("kinds", k, e.target.checked)} /> {k}
                </label>
              ))}
            </fieldset>
          </>
        )}
        <label className="check span-all">
          <input type="checkbox" checked={f.active} onChange={(e) => set("active", e.target.checked)} /> Active
        </label>
        <div className="span-all">
          <ErrorMessage error={error} />
        </div>
        <div className="span-all row">
          <button type="submit">Save rule</button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DryRun() {
  const { client } = useSession();
  const [query, setQuery] = useState("");
  const [answer, setAnswer] = useState("");
  const [result, setResult] = useState<RuleDryRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const body: Record<string, unknown> = { query };
      if (answer.trim()) body.answer = answer;
      setResult(await client.post<RuleDryRun>("/v1/rules/test", body));
    } catch (x) {
      setError(x);
      setResult(null);
    }
  };
  return (
    <section className="card" aria-labelledby="dry-run-title">
      <h2 id="dry-run-title">Dry run</h2>
      <p className="hint">Runs the active rules on a sample query as you; nothing is searched, generated or recorded.</p>
      <form className="grid" onSubmit={run}>
        <Field label="Sample query" required>
          {(p) => <input {...p} value={query} onChange={(e) => setQuery(e.target.value)} />}
        </Field>
        <Field label="Sample answer" hint="Optional: to test after-generation rules">
          {(p) => <input {...p} value={answer} onChange={(e) => setAnswer(e.target.value)} />}
        </Field>
        <div className="span-all row">
          <button type="submit" disabled={!query.trim()}>
            Test rules
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      {result && (
        <div className="dry-result" role="status">
          {result.blocked ? (
            <p className="state error">Blocked: {result.message}</p>
          ) : (
            <p className="state ok">Not blocked.</p>
          )}
          <dl className="facts">
            <dt>Rules fired</dt>
            <dd>{result.fired.length ? result.fired.map((r) => String(r.name)).join(", ") : "none"}</dd>
            <dt>Query after rules</dt>
            <dd>{result.query}</dd>
            <dt>Configuration</dt>
            <dd>{result.config || "default"}</dd>
            {result.instructions.length > 0 && (
              <>
                <dt>Instructions</dt>
                <dd>{result.instructions.join(" ")}</dd>
              </>
            )}
            <dt>Filters</dt>
            <dd>
              <code className="wrap">{JSON.stringify(result.filters)}</code>
            </dd>
            {result.answer !== null && (
              <>
                <dt>Answer after rules</dt>
                <dd>{result.answer}</dd>
              </>
            )}
            {result.errors.length > 0 && (
              <>
                <dt>Condition errors</dt>
                <dd>{result.errors.map((e) => JSON.stringify(e)).join("; ")}</dd>
              </>
            )}
          </dl>
        </div>
      )}
    </section>
  );
}
