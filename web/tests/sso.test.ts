import { describe, expect, it } from "vitest";
import { normaliseSlug, parseSsoFragment, ssoLoginUrl } from "../src/sso";

describe("single sign-on", () => {
  it("builds the login URL with the return path", () => {
    expect(ssoLoginUrl("acme")).toBe("/v1/auth/oidc/acme/login?return_to=%2Fsso");
  });

  it("accepts only slugs the API can have", () => {
    expect(normaliseSlug("  Acme-EU ")).toBe("acme-eu");
    expect(normaliseSlug("a")).toBeNull();
    expect(normaliseSlug("../admin")).toBeNull();
    expect(normaliseSlug("acme corp")).toBeNull();
  });

  it("reads the token pair and e-mail from the fragment", () => {
    const hash =
      "#access_token=a.b.c&refresh_token=r.s.t&token_type=bearer&expires_in=900&email=al%40corp.test";
    expect(parseSsoFragment(hash)).toEqual({
      tokens: { access_token: "a.b.c", refresh_token: "r.s.t", token_type: "bearer", expires_in: 900 },
      email: "al@corp.test",
    });
  });

  it("reads the API's refusal from the fragment", () => {
    expect(parseSsoFragment("#error=e-mail+domain+x.test+may+not+sign+in&status=403")).toEqual({
      error: "e-mail domain x.test may not sign in",
      status: 403,
    });
  });

  it("ignores a fragment without both tokens", () => {
    expect(parseSsoFragment("")).toBeNull();
    expect(parseSsoFragment("#access_token=a.b.c")).toBeNull();
    expect(parseSsoFragment("#section-2")).toBeNull();
  });
});
