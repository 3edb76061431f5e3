// The shell: session gate, navigation filtered by the caller's permissions, and the routes.

import { useEffect, useRef, type ReactNode } from "react";
import type { Permission } from "./api/types";
import { ErrorMessage, Loading } from "./components/ui";
import { Link, match, navigate, usePath } from "./router";
import { Admin } from "./screens/Admin";
import { Analytics } from "./screens/Analytics";
import { ApiKeys } from "./screens/ApiKeys";
import { Ask } from "./screens/Ask";
import { DataSources } from "./screens/DataSources";
import { DocumentDetail } from "./screens/DocumentDetail";
import { Documents } from "./screens/Documents";
import { RagConfigs } from "./screens/RagConfigs";
import { Rules } from "./screens/Rules";
import { Search } from "./screens/Search";
import { SignIn } from "./screens/SignIn";
import { SessionProvider, useSession, type SessionValue } from "./session";

interface Screen {
  path: string;
  label: string;
  allowed: (s: SessionValue) => boolean;
  render: (params: Record<string, string>) => ReactNode;
  nav?: boolean;
}

const has = (p: Permission) => (s: SessionValue) => s.can(p);

const SCREENS: Screen[] = [
  { path: "/ask", label: "Ask", allowed: has("query"), render: () => <Ask />, nav: true },
  { path: "/search", label: "Search", allowed: has("query"), render: () => <Search />, nav: true },
  {
    path: "/documents",
    label: "Documents",
    allowed: has("data:read"),
    render: () => <Documents />,
    nav: true,
  },
  {
    path: "/documents/:id",
    label: "Document",
    allowed: has("data:read"),
    render: (p) => <DocumentDetail id={p.id} />,
  },
  {
    path: "/sources",
    label: "Data sources",
    allowed: has("data:read"),
    render: () => <DataSources />,
    nav: true,
  },
  {
    path: "/configs",
    label: "RAG configs",
    allowed: has("query"),
    render: () => <RagConfigs />,
    nav: true,
  },
  { path: "/rules", label: "Rules", allowed: has("rules:write"), render: () => <Rules />, nav: true },
  {
    path: "/analytics",
    label: "Analytics",
    allowed: has("query:read"),
    render: () => <Analytics />,
    nav: true,
  },
  {
    path: "/admin/users",
    label: "Users",
    allowed: has("org:admin"),
    render: () => <Admin />,
    nav: true,
  },
  {
    path: "/admin/keys",
    label: "API keys",
    allowed: (s) => s.canWrite,
    render: () => <ApiKeys />,
    nav: true,
  },
];

export function App() {
  return (
    <SessionProvider>
      {({ signedIn, ready, error }) => {
        if (!signedIn) return <SignIn />;
        if (!ready) return <Loading label="Signing in…" />;
        if (error) return <SessionError error={error} />;
        return <Shell />;
      }}
    </SessionProvider>
  );
}

function SessionError({ error }: { error: string }) {
  const { signOut } = useSession();
  return (
    <main className="signin">
      <ErrorMessage error={new Error(`Could not load your account: ${error}`)} />
      <button type="button" onClick={signOut}>
        Sign out
      </button>
    </main>
  );
}

function OrgSwitcher() {
  const session = useSession();
  const { sessions, me } = session;
  return (
    <div className="org">
      <label htmlFor="org-switch" className="visually-hidden">
        Organisation
      </label>
      <select
        id="org-switch"
        value={me?.organization_id}
        onChange={(e) => (e.target.value === "+" ? navigate("/sign-in") : session.switchTo(e.target.value))}
      >
        {sessions.map((s) => (
          <option key={s.organization_id} value={s.organization_id}>
            {s.email} · {s.role} · org {s.organization_id.slice(0, 8)}
          </option>
        ))}
        <option value="+">Sign in to another organisation…</option>
      </select>
      <button type="button" className="secondary" onClick={session.signOut}>
        Sign out
      </button>
    </div>
  );
}

function Shell() {
  const session = useSession();
  const path = usePath();
  const visible = SCREENS.filter((s) => s.allowed(session));
  useEffect(() => {
    if (path === "/" || path === "") navigate(visible[0]?.path ?? "/ask", true);
  }, [path, visible]);
  const firstPath = useRef(path);
  useEffect(() => {
    // After an in-app navigation (not on page load), move focus to the new page's heading so
    // screen readers announce the change and Tab continues from the top of the new content.
    if (path === firstPath.current) return;
    firstPath.current = "";
    document.getElementById("page-title")?.focus({ preventScroll: true });
  }, [path]);

  if (path === "/sign-in") return <SignIn adding />;
  let content: ReactNode = null;
  let found = false;
  for (const screen of SCREENS) {
    const params = match(screen.path, path);
    if (!params) continue;
    found = true;
    content = screen.allowed(session) ? (
      screen.render(params)
    ) : (
      <section className="page">
        <h1 id="page-title" tabIndex={-1}>
          {screen.label}
        </h1>
        <p className="state error" role="alert">
          Your role ({session.me?.role}) does not give access to {screen.label}.
        </p>
      </section>
    );
    break;
  }
  if (!found && path !== "/") {
    content = (
      <section className="page">
        <h1 id="page-title" tabIndex={-1}>
          Not found
        </h1>
        <p>
          No page at <code>{path}</code>. <Link to="/ask">Go to Ask</Link>.
        </p>
      </section>
    );
  }
  return (
    <div className="layout">
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/ask" className="brand">
          Ragaas
        </Link>
        <OrgSwitcher />
      </header>
      <nav aria-label="Main" className="sidenav">
        <ul>
          {visible
            .filter((s) => s.nav)
            .map((s) => {
              const current = path === s.path || path.startsWith(s.path + "/");
              return (
                <li key={s.path}>
                  <Link to={s.path} aria-current={current ? "page" : undefined}>
                    {s.label}
                  </Link>
                </li>
              );
            })}
        </ul>
        <p className="role">
          Role: <strong>{session.me?.role}</strong>
        </p>
      </nav>
      <main id="main" className="content" key={`${session.me?.organization_id}.${session.me?.user_id}`}>
        {content}
      </main>
    </div>
  );
}
