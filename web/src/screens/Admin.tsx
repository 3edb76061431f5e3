// Admin: the organisation's users — create, change role and groups (groups feed rules such as
// "HR documents for the HR group"), deactivate.

import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { ROLES, type UserOut } from "../api/types";
import { ErrorMessage, Field, Loaded, PageHeader, useAsync, when } from "../components/ui";
import { splitList } from "../schemaForm";
import { useSession } from "../session";

export function Admin() {
  const { client, me } = useSession();
  const users = useAsync(() => client.get<UserOut[]>("/v1/users"), [client]);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");

  const change = async (u: UserOut, patch: Partial<Pick<UserOut, "role" | "groups" | "active">>) => {
    setError(null);
    setNote("");
    try {
      await client.patch(`/v1/users/${u.id}`, patch);
      setNote(`Saved ${u.email}.`);
      users.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="page">
      <PageHeader title="Users and roles" />
      <NewUser onCreated={users.reload} />
      <ErrorMessage error={error} />
      {note && <p role="status">{note}</p>}
      <Loaded state={users} label="Loading users…">
        {(items) => (
          <table className="table">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Groups</th>
                <th scope="col">Active</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {items.map((u) => (
                <UserRow key={u.id} user={u} self={u.id === me?.user_id} onChange={(p) => change(u, p)} />
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}

function UserRow({
  user: u,
  self,
  onChange,
}: {
  user: UserOut;
  self: boolean;
  onChange: (patch: Partial<Pick<UserOut, "role" | "groups" | "active">>) => void;
}) {
  const [groups, setGroups] = useState(u.groups.join(", "));
  return (
    <tr className={u.active ? "" : "muted"}>
      <td>
        {u.email} {self && <small className="hint">(you)</small>}
      </td>
      <td>
        <select aria-label={`Role of ${u.email}`} value={u.role} disabled={self} onChange={(e) => onChange({ role: e.target.value })}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            onChange({ groups: splitList(groups) });
          }}
        >
          <input aria-label={`Groups of ${u.email}`} value={groups} onChange={(e) => setGroups(e.target.value)} />
          <button type="submit" className="secondary">
            Save
          </button>
        </form>
      </td>
      <td>
        <input
          type="checkbox"
          aria-label={`${u.email} active`}
          checked={u.active}
          disabled={self}
          onChange={(e) => onChange({ active: e.target.checked })}
        />
      </td>
      <td>{when(u.created_at)}</td>
    </tr>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const { client } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState("viewer");
  const [groups, setGroups] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFieldErrors({});
    try {
      await client.post("/v1/users", { email, password, role, groups: splitList(groups) });
      setEmail("");
      setPassword("");
      setGroups("");
      onCreated();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setFieldErrors(err.fieldMessages());
    }
  };
  return (
    <details className="card">
      <summary>Add a user</summary>
      <form className="grid" onSubmit={submit}>
        <Field label="E-mail" required error={fieldErrors.email}>
          {(p) => <input {...p} type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Initial password" required hint="At least 12 characters, not the e-mail address" error={fieldErrors.password}>
          {(p) => <input {...p} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <Field label="Role">
          {(p) => (
            <select {...p} value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Groups" hint="Comma-separated">
          {(p) => <input {...p} value={groups} onChange={(e) => setGroups(e.target.value)} />}
        </Field>
        <div className="span-all">
          <ErrorMessage error={error} />
        </div>
        <div className="span-all row">
          <button type="submit">Create user</button>
        </div>
      </form>
    </details>
  );
}
