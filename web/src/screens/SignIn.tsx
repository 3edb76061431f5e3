// Sign in with e-mail and password; an e-mail that belongs to several organisations needs the
// organisation's id (the API asks for it), and each organisation signed in to joins the switcher.

import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { ErrorMessage, Field } from "../components/ui";
import { navigate } from "../router";
import { useSession } from "../session";
import { normaliseSlug, ssoLoginUrl } from "../sso";

const SSO_SLUG = "ragaas.sso-slug";

export function SignIn({ adding = false }: { adding?: boolean }) {
  const session = useSession();
  const [email, setEmail] = useState(adding ? session.email : "");
  const [password, setPassword] = useState("");
  const [orgId, setOrgId] = useState("");
  const [askOrg, setAskOrg] = useState(adding);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signIn(email, password, orgId.trim() || undefined);
      navigate("/ask");
    } catch (err) {
      if (err instanceof ApiError && /several organisations/.test(err.detail)) setAskOrg(true);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      {session.ssoError && (
        <ErrorMessage error={new Error(`Single sign-on failed: ${session.ssoError}`)} />
      )}
      <form onSubmit={submit} className="card" aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {adding ? "Sign in to another organisation" : "Sign in to Ragaas"}
        </h1>
        {session.expired && !adding && (
          <p className="state" role="status">
            Your session has ended. Please sign in again.
          </p>
        )}
        <Field label="E-mail" required>
          {(p) => (
            <input
              {...p}
              type="email"
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password" required>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {askOrg ? (
          <Field
            label="Organisation ID"
            hint="Your e-mail belongs to several organisations: give the id of the one to open (your administrator has it)."
          >
            {(p) => <input {...p} value={orgId} onChange={(e) => setOrgId(e.target.value)} />}
          </Field>
        ) : (
          <button type="button" className="link" onClick={() => setAskOrg(true)}>
            I belong to several organisations
          </button>
        )}
        <ErrorMessage error={error} />
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
          {adding && (
            <button type="button" className="secondary" onClick={() => navigate("/ask")}>
              Cancel
            </button>
          )}
        </div>
      </form>
      <SsoSignIn />
    </main>
  );
}

/** Sign in with the organisation's identity provider (its SSO name is set by an admin). */
function SsoSignIn() {
  const [slug, setSlug] = useState(() => localStorage.getItem(SSO_SLUG) ?? "");
  const [invalid, setInvalid] = useState(false);
  const go = (e: FormEvent) => {
    e.preventDefault();
    const normalised = normaliseSlug(slug);
    setInvalid(normalised === null);
    if (normalised === null) return;
    localStorage.setItem(SSO_SLUG, normalised);
    window.location.assign(ssoLoginUrl(normalised));
  };
  return (
    <form onSubmit={go} className="card" aria-labelledby="sso-title">
      <h2 id="sso-title">Single sign-on</h2>
      <Field
        label="Organisation's SSO name"
        required
        hint="For example acme: your administrator has it."
        error={invalid ? "An SSO name has 2 to 63 lower-case letters, digits or hyphens." : undefined}
      >
        {(p) => (
          <input
            {...p}
            autoComplete="organization"
            value={slug}
            onChange={(e) => setSlug(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" className="secondary">
        Continue with SSO
      </button>
    </form>
  );
}
