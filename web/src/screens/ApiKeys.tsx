// API keys: scoped (within the caller's own permissions), optionally expiring; the key itself is
// shown once, at creation, and never again.

import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { ALL_PERMISSIONS, type ApiKeyCreated, type ApiKeyOut } from "../api/types";
import { Dialog, Empty, ErrorMessage, Field, Loaded, PageHeader, useAsync, when } from "../components/ui";
import { useSession } from "../session";

export function ApiKeys() {
  const { client, me } = useSession();
  const keys = useAsync(() => client.get<ApiKeyOut[]>("/v1/api-keys"), [client]);
  const mine = ALL_PERMISSIONS.filter((p) => me?.permissions.includes(p));
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(mine.filter((p) => p === "query" || p === "data:read"));
  const [expires, setExpires] = useState("");
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [copied, setCopied] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFieldErrors({});
    try {
      const body: Record<string, unknown> = { name, scopes };
      if (expires) body.expires_at = new Date(`${expires}T23:59:59`).toISOString();
      setCreated(await client.post<ApiKeyCreated>("/v1/api-keys", body));
      setCopied(false);
      setName("");
      keys.reload();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setFieldErrors(err.fieldMessages());
    }
  };

  return (
    <section className="page">
      <PageHeader title="API keys" />
      <form className="card grid" onSubmit={submit} aria-labelledby="new-key">
        <h2 id="new-key" className="span-all">
          New key
        </h2>
        <Field label="Name" required error={fieldErrors.name}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Expires on" hint="Optional" error={fieldErrors.expires_at}>
          {(p) => <input {...p} type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />}
        </Field>
        <fieldset className="span-all">
          <legend>Scopes (at most your own permissions)</legend>
          {mine.map((p) => (
            <label key={p} className="check">
              <input
                type="checkbox"
                checked={scopes.includes(p)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, p] : scopes.filter((s) => s !== p))}
              />{" "}
              {p}
            </label>
          ))}
        </fieldset>
        <div className="span-all">
          <ErrorMessage error={error} />
        </div>
        <div className="span-all row">
          <button type="submit">Create key</button>
        </div>
      </form>
      <Loaded state={keys} label="Loading keys…">
        {(items) =>
          items.length === 0 ? (
            <Empty>No API keys yet.</Empty>
          ) : (
            <table className="table">
              <caption className="visually-hidden">API keys</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {items.map((k) => (
                  <tr key={k.id} className={k.revoked_at ? "muted" : ""}>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.prefix}…</code>
                    </td>
                    <td>{k.scopes.join(", ")}</td>
                    <td>{when(k.expires_at)}</td>
                    <td>{when(k.last_used_at)}</td>
                    <td>
                      {k.revoked_at ? (
                        `revoked ${when(k.revoked_at)}`
                      ) : (
                        <button
                          type="button"
                          className="danger"
                          onClick={async () => {
                            if (!window.confirm(`Revoke key ${k.name}? Programs using it stop working.`)) return;
                            try {
                              await client.delete(`/v1/api-keys/${k.id}`);
                              keys.reload();
                            } catch (err) {
                              setError(err);
                            }
                          }}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {created && (
        <Dialog title="Your new API key" onClose={() => setCreated(null)}>
          <p>
            Copy it now: <strong>it will not be shown again.</strong>
          </p>
          <p>
            <code className="secret" data-testid="new-key">
              {created.key}
            </code>
          </p>
          <div className="row">
            <button
              type="button"
              onClick={async () => {
                await navigator.clipboard?.writeText(created.key).catch(() => undefined);
                setCopied(true);
              }}
            >
              {copied ? "Copied" : "Copy"}
            </button>
            <button type="button" className="secondary" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
