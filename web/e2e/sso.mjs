// Single sign-on in the BUILT web UI, in headless Debian Chromium (playwright-core), against a
// real `ragaas serve` and a real OpenID provider. Run by tests/sso/test_browser_sso.py, which
// passes: RAGAAS_URL, IDP_URL, SSO_SLUG, SSO_SUB (a user the provider maps to admin),
// SSO_EMAIL, SSO_REFUSED_SUB (a user in no mapped group), SCREENSHOTS (folder), CHROMIUM.
// Exit code 0 only if every step passed.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env("RAGAAS_URL");
const IDP = env("IDP_URL");
const SLUG = env("SSO_SLUG");
const SUB = env("SSO_SUB");
const EMAIL = env("SSO_EMAIL");
const SHOTS = env("SCREENSHOTS");
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const page = await (await browser.newContext({ viewport: { width: 1200, height: 760 } })).newPage();
page.setDefaultTimeout(30_000);
const visible = (locator) => locator.first().waitFor({ state: "visible" });

try {
  await page.goto(BASE + "/");
  await visible(page.getByRole("heading", { name: "Single sign-on" }));
  await page.getByLabel("Organisation's SSO name").fill(`  ${SLUG.toUpperCase()} `);
  await page.screenshot({ path: join(SHOTS, "sso-1-sign-in.png") });
  await page.getByRole("button", { name: "Continue with SSO" }).click();
  console.log("ok   the button leads to the identity provider");

  await page.waitForURL((url) => url.href.startsWith(IDP + "/oauth2/authorize"));
  await page.locator('input[name="sub"]').fill(SUB);
  await page.getByRole("button", { name: "Authorize" }).click();
  console.log("ok   signed in at the provider");

  await visible(page.getByRole("navigation", { name: "Main" }));
  await visible(page.getByRole("link", { name: "Users", exact: true })); // an admin's screens
  const url = new URL(page.url());
  if (url.origin !== BASE || url.hash !== "" || url.pathname === "/sso")
    throw new Error(`tokens or the return path left in the URL: ${page.url()}`);
  const option = await page.locator("#org-switch option:checked").textContent();
  if (!option?.includes(`${EMAIL} · admin`)) throw new Error(`switcher shows ${option}`);
  await page.screenshot({ path: join(SHOTS, "sso-2-signed-in.png") });
  console.log("ok   back in Ragaas as the mapped admin, the tokens gone from the URL");

  // Someone the organisation's mapping refuses sees why, on the sign-in page.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Continue with SSO" }).click(); // the name is remembered
  await page.waitForURL((url) => url.href.startsWith(IDP + "/oauth2/authorize"));
  await page.locator('input[name="sub"]').fill(env("SSO_REFUSED_SUB"));
  await page.getByRole("button", { name: "Authorize" }).click();
  await visible(page.getByText("Single sign-on failed: none of your groups at the identity provider"));
  if (new URL(page.url()).hash !== "") throw new Error(`the error stayed in the URL: ${page.url()}`);
  await page.screenshot({ path: join(SHOTS, "sso-3-refused.png") });
  console.log("ok   a refused user sees the reason on the sign-in page");
  await browser.close();
  console.log("4 passed, 0 failed");
} catch (error) {
  console.log(`FAIL ${error?.stack ?? error}`);
  await page.screenshot({ path: join(SHOTS, "sso-failure.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
