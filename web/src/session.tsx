// The signed-in sessions: one per organisation the user signed in to (the switcher picks the
// active one). Tokens live in sessionStorage: they survive a reload, not the closing of the tab.

import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from "react";
import { ApiClient } from "./api/client";
import type { Me, Permission, TokenPair } from "./api/types";
import { chatKey } from "./chatKey";
import { parseSsoFragment, RETURN_PATH } from "./sso";

export interface StoredSession {
  email: string;
  organization_id: string;
  role: string;
  tokens: TokenPair;
}

const KEY = "ragaas.sessions";
const ACTIVE = "ragaas.active";

function load(): StoredSession[] {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as StoredSession[]) : [];
  } catch {
    return [];
  }
}

function save(sessions: StoredSession[], active: string | null): void {
  sessionStorage.setItem(KEY, JSON.stringify(sessions));
  if (active) sessionStorage.setItem(ACTIVE, active);
  else sessionStorage.removeItem(ACTIVE);
}

export interface SessionValue {
  client: ApiClient;
  me: Me | null;
  email: string;
  sessions: StoredSession[];
  can: (permission: Permission) => boolean;
  /** Any write permission: a viewer (and an analyst) has none. */
  canWrite: boolean;
  signIn: (email: string, password: string, organizationId?: string) => Promise<void>;
  signOut: () => void;
  switchTo: (organizationId: string) => void;
  expired: boolean;
  /** Why the single sign-on that just came back could not open a session. */
  ssoError: string | null;
}

const Ctx = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(Ctx);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

export interface SessionState {
  signedIn: boolean;
  /** The caller's permissions are known (or failed to load: see `error`). */
  ready: boolean;
  error: string | null;
}

export function SessionProvider({ children }: { children: (state: SessionState) => ReactNode }) {
  const [sessions, setSessions] = useState<StoredSession[]>(load);
  const [active, setActive] = useState<string | null>(() => sessionStorage.getItem(ACTIVE));
  const [me, setMe] = useState<Me | null>(null);
  const [expired, setExpired] = useState(false);
  const current = sessions.find((s) => s.organization_id === active) ?? null;

  const persist = useCallback((next: StoredSession[], nextActive: string | null) => {
    save(next, nextActive);
    setSessions(next);
    setActive(nextActive);
  }, []);

  const client = useMemo(() => {
    const orgId = current?.organization_id;
    return new ApiClient({
      tokens: current?.tokens ?? null,
      onTokens: (tokens) => {
        const all = load();
        if (tokens === null) {
          const rest = all.filter((s) => s.organization_id !== orgId);
          setExpired(true);
          setMe(null);
          persist(rest, rest[0]?.organization_id ?? null);
        } else {
          save(
            all.map((s) => (s.organization_id === orgId ? { ...s, tokens } : s)),
            orgId ?? null,
          );
        }
      },
    });
    // A new client per active session (not per token refresh: those are written through).
  }, [current?.organization_id, current?.tokens.refresh_token, persist]); // eslint-disable-line

  const [meError, setMeError] = useState<string | null>(null);
  useEffect(() => {
    setMe(null);
    setMeError(null);
    if (!client.signedIn) return;
    let live = true;
    client
      .get<Me>("/v1/auth/me")
      .then((who) => live && setMe(who))
      .catch((e: unknown) => live && setMeError(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [client]);

  const enter = useCallback(
    async (email: string, tokens: TokenPair) => {
      const who = await new ApiClient({ tokens }).get<Me>("/v1/auth/me");
      const entry: StoredSession = {
        email: email.trim().toLowerCase(),
        organization_id: who.organization_id,
        role: who.role,
        tokens,
      };
      const rest = load().filter((s) => s.organization_id !== who.organization_id);
      setExpired(false);
      persist([...rest, entry], who.organization_id);
    },
    [persist],
  );

  const signIn = useCallback(
    async (email: string, password: string, organizationId?: string) => {
      await enter(email, await new ApiClient().login(email, password, organizationId));
    },
    [enter],
  );

  const [ssoError, setSsoError] = useState<string | null>(null);
  useEffect(() => {
    // Back from the identity provider: take the tokens and clear them from the URL at once.
    if (location.pathname !== RETURN_PATH) return;
    const result = parseSsoFragment(location.hash);
    history.replaceState(null, "", "/");
    if (!result) return;
    if ("error" in result) {
      setSsoError(result.error);
      return;
    }
    enter(result.email, result.tokens).catch((e: unknown) =>
      setSsoError(e instanceof Error ? e.message : String(e)),
    );
  }, [enter]);

  const signOut = useCallback(() => {
    // What this user asked stays with them: their conversation is forgotten on sign-out.
    if (me) sessionStorage.removeItem(chatKey(me.organization_id, me.user_id));
    const rest = load().filter((s) => s.organization_id !== active);
    setMe(null);
    setExpired(false);
    persist(rest, rest[0]?.organization_id ?? null);
  }, [active, persist, me]);

  const switchTo = useCallback(
    (organizationId: string) => {
      persist(load(), organizationId);
    },
    [persist],
  );

  const permissions = new Set(me?.permissions ?? []);
  const can = (p: Permission) => permissions.has(p);
  const canWrite = ["data:write", "rag:config", "rules:write", "org:admin"].some((p) =>
    permissions.has(p),
  );
  const value: SessionValue = {
    client,
    me,
    email: current?.email ?? "",
    sessions,
    can,
    canWrite,
    signIn,
    signOut,
    switchTo,
    expired,
    ssoError,
  };
  return (
    <Ctx.Provider value={value}>
      {children({
        signedIn: current !== null,
        ready: current === null || me !== null || meError !== null,
        error: meError,
      })}
    </Ctx.Provider>
  );
}
