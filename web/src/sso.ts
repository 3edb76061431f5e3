// Single sign-on (docs/sso.md): the browser goes to the organisation's identity provider through
// /v1/auth/oidc/{slug}/login and comes back to RETURN_PATH with the token pair in the URL
// fragment, which never reaches a server; the app takes it from there and clears it at once.

import type { TokenPair } from "./api/types";

export const RETURN_PATH = "/sso";
const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** The slug as typed, normalised; null when it cannot be one (the API's pattern). */
export function normaliseSlug(raw: string): string | null {
  const slug = raw.trim().toLowerCase();
  return SLUG.test(slug) ? slug : null;
}

/** Where to send the browser to sign in with the organisation's provider. */
export function ssoLoginUrl(slug: string): string {
  return `/v1/auth/oidc/${encodeURIComponent(slug)}/login?return_to=${encodeURIComponent(RETURN_PATH)}`;
}

export type SsoResult = { tokens: TokenPair; email: string } | { error: string; status: number };

/** What a finished SSO sign-in put in the URL fragment: the tokens ("#access_token=…"), the
 * API's refusal ("#error=…&status=403"), or null when the fragment is neither. */
export function parseSsoFragment(hash: string): SsoResult | null {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const error = params.get("error");
  if (error) return { error, status: Number(params.get("status")) || 400 };
  const access = params.get("access_token");
  const refresh = params.get("refresh_token");
  if (!access || !refresh) return null;
  const expires = Number(params.get("expires_in"));
  return {
    tokens: {
      access_token: access,
      refresh_token: refresh,
      token_type: params.get("token_type") ?? "bearer",
      expires_in: Number.isFinite(expires) && expires > 0 ? expires : undefined,
    },
    email: params.get("email") ?? "",
  };
}
