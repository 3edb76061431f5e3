// Data sources: connect one with a form generated from its type's JSON schema, set a cron
// schedule, sync now, and read the run history with counts and errors.

import { useMemo, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import type { ConnectorType, DataSource, SyncRun } from "../api/types";
import { SchemaForm } from "../components/SchemaForm";
import { Dialog, Empty, ErrorMessage, Field, Loaded, PageHeader, StatusBadge, useAsync, when } from "../components/ui";
import { collect, fieldsOf, initialState, splitList, type FormState } from "../schemaForm";
import { useSession } from "../session";

export function DataSources() {
  const { client, can } = useSession();
  const sources = useAsync(() => client.get<DataSource[]>("/v1/data-sources"), [client]);
  const [adding, setAdding] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const current = sources.data?.find((s) => s.id === selected) ?? null;
  return (
    <section className="page">
      <PageHeader title="Data sources">
        {can("data:write") && (
          <button type="button" onClick={() => setAdding(true)}>
            Add a data source
          </button>
        )}
      </PageHeader>
      <Loaded state={sources} label="Loading data sources…">
        {(items) =>
          items.length === 0 ? (
            <Empty>No data sources: documents come only from uploads.</Empty>
          ) : (
            <table className="table">
              <caption className="visually-hidden">Data sources</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Documents</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Last run</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.id}>
                    <td>{s.name}</td>
                    <td>{s.type}</td>
                    <td>{s.document_count}</td>
                    <td>
                      {s.cron ?? "manual"}
                      {s.next_sync_at && <small className="hint"> next {when(s.next_sync_at)}</small>}
                    </td>
                    <td>{s.last_run ? <StatusBadge status={s.last_run.status} /> : "never"}</td>
                    <td>
                      <button type="button" className="secondary" onClick={() => setSelected(s.id)}>
                        Details
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {adding && (
        <AddSource
          onClose={() => setAdding(false)}
          onCreated={() => {
            setAdding(false);
            sources.reload();
          }}
        />
      )}
      {current && (
        <SourceDetail
          source={current}
          onClose={() => setSelected(null)}
          onChanged={sources.reload}
        />
      )}
    </section>
  );
}

function AddSource({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const { client } = useSession();
  const types = useAsync(() => client.get<ConnectorType[]>("/v1/data-sources/types"), [client]);
  const [type, setType] = useState("");
  const [name, setName] = useState("");
  const [labels, setLabels] = useState("");
  const [cron, setCron] = useState("");
  const [state, setState] = useState<FormState>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosen = types.data?.find((t) => t.type === type);
  const fields = useMemo(() => (chosen ? fieldsOf(chosen.config_schema) : []), [chosen]);

  const pick = (t: string) => {
    setType(t);
    const c = types.data?.find((x) => x.type === t);
    setState(c ? initialState(fieldsOf(c.config_schema)) : {});
    setErrors({});
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { value, errors: found } = collect(fields, state);
    if (!name.trim()) found.__name = "Name is required";
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    setError(null);
    try {
      await client.post("/v1/data-sources", {
        name: name.trim(),
        type,
        config: value,
        labels: splitList(labels),
        cron: cron.trim() || null,
      });
      onCreated();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) {
        const byField: Record<string, string> = {};
        for (const [k, v] of Object.entries(err.fieldMessages())) byField[k.replace(/^config\./, "")] = v;
        setErrors(byField);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Add a data source" onClose={onClose} wide>
      <Loaded state={types} label="Loading connector types…">
        {(list) => (
          <form onSubmit={submit} className="stack" noValidate>
            <Field label="Type" required>
              {(p) => (
                <select {...p} value={type} onChange={(e) => pick(e.target.value)}>
                  <option value="">Choose a connector…</option>
                  {list.map((t) => (
                    <option key={t.type} value={t.type}>
                      {t.type} — {t.description}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {chosen && (
              <>
                <Field label="Name" required error={errors.__name ?? errors.name}>
                  {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
                </Field>
                <fieldset className="nested">
                  <legend>{chosen.type} settings</legend>
                  <SchemaForm
                    fields={fields}
                    state={state}
                    errors={errors}
                    onChange={(path, v) => setState((s) => ({ ...s, [path]: v }))}
                  />
                </fieldset>
                <Field label="Labels" hint="Comma-separated; given to every document of this source.">
                  {(p) => <input {...p} value={labels} onChange={(e) => setLabels(e.target.value)} />}
                </Field>
                <Field label="Schedule (cron)" hint="e.g. 0 * * * * for hourly; empty for manual syncs only." error={errors.cron}>
                  {(p) => <input {...p} value={cron} onChange={(e) => setCron(e.target.value)} />}
                </Field>
                <ErrorMessage error={error} />
                <div className="row">
                  <button type="submit" disabled={busy}>
                    Create
                  </button>
                  <button type="button" className="secondary" onClick={onClose}>
                    Cancel
                  </button>
                </div>
              </>
            )}
          </form>
        )}
      </Loaded>
    </Dialog>
  );
}

function SourceDetail({
  source: s,
  onClose,
  onChanged,
}: {
  source: DataSource;
  onClose: () => void;
  onChanged: () => void;
}) {
  const { client, can } = useSession();
  const runs = useAsync(() => client.get<SyncRun[]>(`/v1/data-sources/${s.id}/runs`, { limit: 20 }), [client, s.id]);
  const [cron, setCron] = useState(s.cron ?? "");
  const [labels, setLabels] = useState(s.labels.join(", "));
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setNote("");
    try {
      await what();
      setNote(done);
      onChanged();
      runs.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={`Data source: ${s.name}`} onClose={onClose} wide>
      <dl className="facts">
        <dt>Type</dt>
        <dd>{s.type}</dd>
        <dt>Documents</dt>
        <dd>{s.document_count}</dd>
        <dt>Config</dt>
        <dd>
          <code className="wrap">{JSON.stringify(s.config)}</code>
        </dd>
        <dt>Next sync</dt>
        <dd>{when(s.next_sync_at)}</dd>
      </dl>
      {can("data:write") && (
        <form
          className="row wrap"
          onSubmit={(e) => {
            e.preventDefault();
            void act(
              () => client.patch(`/v1/data-sources/${s.id}`, { cron: cron.trim() || null, labels: splitList(labels) }),
              "Saved.",
            );
          }}
        >
          <Field label="Schedule (cron)" hint="Empty: manual only.">
            {(p) => <input {...p} value={cron} onChange={(e) => setCron(e.target.value)} />}
          </Field>
          <Field label="Labels">
            {(p) => <input {...p} value={labels} onChange={(e) => setLabels(e.target.value)} />}
          </Field>
          <button type="submit" className="secondary">
            Save
          </button>
          <button type="button" onClick={() => act(() => client.post(`/v1/data-sources/${s.id}/sync`), "Sync started.")}>
            Sync now
          </button>
          <button
            type="button"
            className="danger"
            onClick={() =>
              window.confirm(`Delete ${s.name} and its documents?`) &&
              act(async () => {
                await client.delete(`/v1/data-sources/${s.id}`);
                onClose();
              }, "Deleted.")
            }
          >
            Delete
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
      {note && <p role="status">{note}</p>}
      <h3>
        Runs{" "}
        <button type="button" className="link" onClick={runs.reload}>
          refresh
        </button>
      </h3>
      <Loaded state={runs} label="Loading runs…">
        {(items) =>
          items.length === 0 ? (
            <Empty>No runs yet.</Empty>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Status</th>
                  <th scope="col">Counts</th>
                  <th scope="col">Errors</th>
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.id}>
                    <td>{when(r.started_at ?? r.created_at)}</td>
                    <td>{r.trigger}</td>
                    <td>
                      <StatusBadge status={r.status} />
                    </td>
                    <td>
                      {Object.entries(r.counts)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(", ") || "—"}
                    </td>
                    <td>
                      {r.errors.length === 0 ? (
                        "—"
                      ) : (
                        <ul className="errors">
                          {r.errors.slice(0, 5).map((e, i) => (
                            <li key={i}>{Object.values(e).map(String).join(": ")}</li>
                          ))}
                          {r.errors.length > 5 && <li>… {r.errors.length - 5} more</li>}
                        </ul>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Dialog>
  );
}
