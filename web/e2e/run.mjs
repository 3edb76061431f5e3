// End-to-end test of the BUILT web UI in headless Debian Chromium (driven by playwright-core, no
// browser download), against a real `ragaas serve`. Run by tests/web/test_browser.py, which starts
// the server, bootstraps an organisation and a viewer, and passes everything in the environment:
//   RAGAAS_URL, ADMIN_EMAIL, ADMIN_PASSWORD, VIEWER_EMAIL, VIEWER_PASSWORD, SOURCE_FOLDER,
//   MULTI_EMAIL, MULTI_ORG_A, MULTI_ORG_B (one e-mail in two organisations, same password),
//   SCREENSHOTS (folder), CHROMIUM (default /usr/bin/chromium)
// Exit code 0 only if every step passed; each step is printed, a failure leaves failure.png.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env("RAGAAS_URL");
const ADMIN = { email: env("ADMIN_EMAIL"), password: env("ADMIN_PASSWORD") };
const VIEWER = { email: env("VIEWER_EMAIL"), password: env("VIEWER_PASSWORD") };
const MULTI = { email: env("MULTI_EMAIL"), password: env("ADMIN_PASSWORD"), orgA: env("MULTI_ORG_A"), orgB: env("MULTI_ORG_B") };
const SOURCE_FOLDER = env("SOURCE_FOLDER");
const SHOTS = env("SCREENSHOTS");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");
const TIMEOUT = 30_000;

mkdirSync(SHOTS, { recursive: true });

// The flags this machine needs: no sandbox as root, and no background calls to the internet.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, acceptDownloads: true });
context.setDefaultTimeout(TIMEOUT);
const page = await context.newPage();
const consoleErrors = [];
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));

let passed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error?.stack ?? error}`);
    await page.screenshot({ path: join(SHOTS, "failure.png"), fullPage: true }).catch(() => {});
    writeFileSync(join(SHOTS, "failure.html"), await page.content().catch(() => ""));
    if (consoleErrors.length) console.log("browser console errors:\n" + consoleErrors.join("\n"));
    await browser.close();
    process.exit(1);
  }
}
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`) });
const expectVisible = (locator) => locator.first().waitFor({ state: "visible" });
async function expectAbsent(locator, what) {
  const n = await locator.count();
  if (n !== 0) throw new Error(`${what} should not be shown (found ${n})`);
}
async function nav(label) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click();
  await expectVisible(page.locator("h1#page-title"));
}
async function signIn(who) {
  await page.goto(BASE + "/");
  await page.getByLabel("E-mail").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectVisible(page.getByRole("navigation", { name: "Main" }));
}

const QUESTION = "How many days do customers have to return a gadget?";

await step("the UI is served at / and a wrong password is refused with the API's message", async () => {
  await page.goto(BASE + "/");
  await expectVisible(page.getByRole("heading", { name: "Sign in to Ragaas" }));
  await page.getByLabel("E-mail").fill(ADMIN.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectVisible(page.getByRole("alert").filter({ hasText: "wrong e-mail or password" }));
  await shot("01-sign-in");
});

await step("keyboard: the first Tab reaches the skip link after signing in", async () => {
  await signIn(ADMIN);
  await page.reload(); // the session survives a reload (sessionStorage); focus starts at the top
  await expectVisible(page.getByRole("navigation", { name: "Main" }));
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement?.textContent);
  if (focused !== "Skip to content") throw new Error(`first Tab focused ${JSON.stringify(focused)}`);
  for (const label of ["Ask", "Search", "Documents", "Data sources", "RAG configs", "Rules", "Analytics", "Users", "API keys"]) {
    await expectVisible(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }));
  }
});

await step("documents: drag and drop two files, see them uploaded and become ready", async () => {
  await nav("Documents");
  await expectVisible(page.getByText("No documents yet"));
  await page.getByLabel("Labels for new uploads").fill("handbook");
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(
      new File(
        [
          "# Returns\n\nCustomers may return a gadget within 45 days of delivery for a full refund. " +
            "Refunds reach the original card within five business days.\n",
        ],
        "returns.md",
        { type: "text/markdown" },
      ),
    );
    dt.items.add(
      new File(["# Parking\n\nStaff park their cars in garage P3 on level minus two.\n"], "parking.md", {
        type: "text/markdown",
      }),
    );
    document.querySelector('[data-testid="dropzone"]').dispatchEvent(
      new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }),
    );
  });
  const uploads = page.getByRole("list", { name: "Uploads" });
  await expectVisible(uploads.locator('li[data-state="accepted"]').filter({ hasText: "returns.md" }));
  await expectVisible(uploads.locator('li[data-state="accepted"]').filter({ hasText: "parking.md" }));
  const rows = page.locator("table tbody tr");
  await page.waitForFunction(
    () => {
      const r = [...document.querySelectorAll("table tbody tr")];
      return r.length === 2 && r.every((x) => x.getAttribute("data-status") === "ready");
    },
    null,
    { timeout: 120_000 },
  );
  if ((await rows.count()) !== 2) throw new Error("expected two documents");
  await shot("02-documents");
});

await step("documents: the status filter, and a document's detail with its chunks", async () => {
  await page.getByLabel("Status").selectOption("failed");
  await expectVisible(page.getByText("No document matches these filters."));
  await page.getByLabel("Status").selectOption("ready");
  await page.getByRole("link", { name: "Returns" }).click();
  await expectVisible(page.getByRole("heading", { name: "Returns", level: 1 }));
  await expectVisible(page.getByRole("heading", { name: "Chunks" }));
  await expectVisible(page.locator(".chunk-text").filter({ hasText: "within 45 days" }));
  await expectVisible(page.getByRole("button", { name: "Delete" }));
  await shot("03-document-detail");
});

await step("ask: a streamed answer with citation chips; a chip opens the passage and its document", async () => {
  await nav("Ask");
  await page.getByLabel("Your question").fill(QUESTION);
  await page.getByRole("button", { name: "Ask", exact: true }).click();
  const chip = page.locator(".answer button.chip").first();
  await expectVisible(chip);
  const answer = await page.locator(".answer p").first().innerText();
  if (!answer.includes("45 days")) throw new Error(`unexpected answer: ${answer}`);
  await chip.click();
  const dialog = page.getByRole("dialog");
  await expectVisible(dialog.getByRole("heading", { name: "Cited passage" }));
  await expectVisible(dialog.locator(".passage").filter({ hasText: "45 days" }));
  await expectVisible(dialog.getByRole("heading", { name: "Source document" }));
  await expectVisible(dialog.getByRole("link", { name: "Open the document and all its passages" }));
  await shot("04-ask-citation");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
});

await step("ask: rate the answer 4/5 with a comment", async () => {
  await page.locator(".feedback label.star").nth(3).click();
  await page.getByLabel("Comment (optional)").fill("clear and cited");
  await page.getByRole("button", { name: "Send rating" }).click();
  await expectVisible(page.getByText("you rated this answer 4/5"));
  await shot("05-ask-rated");
});

await step("search playground: lexical mode, scores and highlighted matches", async () => {
  await nav("Search");
  await page.getByLabel("Query").fill("return gadget refund");
  await page.getByLabel("Mode").selectOption("lexical");
  await page.getByLabel("Results (top_k)").fill("5");
  await page.getByRole("button", { name: "Search" }).click();
  await expectVisible(page.locator(".result mark").filter({ hasText: /gadget/i }));
  await expectVisible(page.locator(".result .score"));
  await expectVisible(page.getByText(/result\(s\), mode lexical/));
  await shot("06-search");
});

await step("rules: the API's validation message, then a blocking rule and its dry run", async () => {
  await nav("Rules");
  await expectVisible(page.getByText("No rules"));
  await page.getByRole("button", { name: "New rule" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("no passwords");
  await dialog.getByLabel("Condition (CEL)").fill('query.matches("(?i)password"');
  await dialog.getByLabel("Message").fill("Ask IT about passwords, not the assistant.");
  await dialog.getByRole("button", { name: "Save rule" }).click();
  await expectVisible(dialog.getByRole("alert"));
  const problem = await dialog.getByRole("alert").innerText();
  if (!/condition/i.test(problem)) throw new Error(`expected a condition error, got: ${problem}`);
  await dialog.getByLabel("Condition (CEL)").fill('query.matches("(?i)password")');
  await dialog.getByRole("button", { name: "Save rule" }).click();
  await dialog.waitFor({ state: "detached" });
  await expectVisible(page.locator("table tbody tr").filter({ hasText: "no passwords" }));
  await page.getByLabel("Sample query").fill("what is the wifi password?");
  await page.getByRole("button", { name: "Test rules" }).click();
  await expectVisible(page.getByText("Blocked: Ask IT about passwords, not the assistant."));
  await shot("07-rules");
});

await step("ask: the rule blocks a query and the user sees its message", async () => {
  await nav("Ask");
  await page.getByLabel("Your question").fill("What is the admin password?");
  await page.getByRole("button", { name: "Ask", exact: true }).click();
  const blocked = page.locator(".answer.blocked");
  await expectVisible(blocked.getByText("Blocked by a rule"));
  await expectVisible(blocked.getByText("Ask IT about passwords, not the assistant."));
  // The earlier turn is still there: the conversation history of this session.
  await expectVisible(page.locator(".question").filter({ hasText: QUESTION }));
  await shot("08-ask-blocked");
});

await step("data sources: a form generated from the folder schema, sync now, a run with counts", async () => {
  await nav("Data sources");
  await page.getByRole("button", { name: "Add a data source" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Type").selectOption("file");
  await dialog.getByLabel("Name").fill("Shared folder");
  await expectVisible(dialog.getByLabel("Pattern")); // a field from the schema, with its default
  if ((await dialog.getByLabel("Pattern").inputValue()) !== "**/*") throw new Error("default not filled");
  await dialog.getByRole("button", { name: "Create" }).click();
  await expectVisible(dialog.locator(".field-error").filter({ hasText: "Path is required" }));
  await dialog.getByLabel("Path").fill(SOURCE_FOLDER);
  await dialog.getByRole("button", { name: "Create" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.locator("table tbody tr").filter({ hasText: "Shared folder" }).getByRole("button", { name: "Details" }).click();
  const detail = page.getByRole("dialog");
  await detail.getByRole("button", { name: "Sync now" }).click();
  await expectVisible(detail.getByText("Sync started."));
  const deadline = Date.now() + 90_000;
  for (;;) {
    await detail.getByRole("button", { name: "refresh" }).click();
    const status = await detail.locator("table tbody tr").first().locator(".badge").innerText().catch(() => "");
    if (status === "succeeded") break;
    if (status === "failed" || Date.now() > deadline) throw new Error(`sync run ended as ${status || "nothing"}`);
    await page.waitForTimeout(1000);
  }
  await expectVisible(detail.locator("table tbody tr").first().getByText(/added 1/));
  await shot("09-data-source");
  await page.keyboard.press("Escape");
});

await step("RAG configs: the API's range check, then a saved configuration", async () => {
  await nav("RAG configs");
  await page.getByRole("button", { name: "New configuration" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("precise");
  await dialog.getByLabel("Passages (top_k)").fill("3");
  await dialog.getByLabel("Temperature").fill("7");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expectVisible(dialog.locator(".field-error").filter({ hasText: /less than or equal to 2/ }));
  await dialog.getByLabel("Temperature").fill("0.2");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  await expectVisible(page.locator("table tbody tr").filter({ hasText: "precise" }));
});

await step("analytics: charts drawn, tables filled, a CSV export downloads", async () => {
  await nav("Analytics");
  await expectVisible(page.getByRole("img", { name: /Query volume per day/ }));
  await expectVisible(page.getByRole("img", { name: /Answer ratings: .*1 rated 4/ }));
  await expectVisible(page.getByRole("img", { name: /Latency per stage/ }));
  await expectVisible(page.locator("section").filter({ hasText: "Top queries" }).getByText(QUESTION.toLowerCase()));
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export top-queries as CSV" }).click(),
  ]);
  if (download.suggestedFilename() !== "top-queries.csv") throw new Error(download.suggestedFilename());
  await page.mouse.move(0, 0);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300); // let the charts finish drawing for the screenshot
  await shot("10-analytics");
});

await step("admin: users and roles; an API key shown once", async () => {
  await nav("Users");
  await expectVisible(page.locator("table tbody tr").filter({ hasText: VIEWER.email }));
  await page.getByLabel(`Groups of ${VIEWER.email}`).fill("hr, support");
  await page.locator("table tbody tr").filter({ hasText: VIEWER.email }).getByRole("button", { name: "Save" }).click();
  await expectVisible(page.getByRole("status").filter({ hasText: `Saved ${VIEWER.email}.` }));
  await shot("11-admin-users");
  await nav("API keys");
  await page.getByLabel("Name").fill("ci key");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = await page.getByTestId("new-key").innerText();
  if (!key.startsWith("rg_")) throw new Error(`unexpected key ${key}`);
  await page.getByRole("button", { name: "Done" }).click();
  await expectVisible(page.locator("table tbody tr").filter({ hasText: "ci key" }));
  const html = await page.content();
  if (html.includes(key)) throw new Error("the key is still on the page after the dialog closed");
});

await step("viewer: no admin screens, no write actions", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(VIEWER);
  // The admin's conversation is not shown to the next user of the browser.
  await expectVisible(page.getByText("Ask a question about your organisation's documents."));
  await expectAbsent(page.locator(".question"), "the previous user's conversation");
  const navLinks = page.getByRole("navigation", { name: "Main" });
  for (const label of ["Users", "API keys", "Rules", "Analytics"]) {
    await expectAbsent(navLinks.getByRole("link", { name: label, exact: true }), `${label} in the viewer's navigation`);
  }
  await expectVisible(navLinks.getByRole("link", { name: "Ask", exact: true }));
  await page.goto(BASE + "/admin/users");
  await expectVisible(page.getByRole("alert").filter({ hasText: "does not give access to Users" }));
  await page.goto(BASE + "/rules");
  await expectVisible(page.getByRole("alert").filter({ hasText: "does not give access to Rules" }));
  await nav("Documents");
  await expectVisible(page.locator("table tbody tr").first());
  await expectAbsent(page.getByRole("heading", { name: "Upload" }), "the upload zone");
  await page.getByRole("link", { name: "Returns" }).click();
  await expectVisible(page.getByRole("heading", { name: "Chunks" }));
  await expectAbsent(page.getByRole("button", { name: "Delete" }), "Delete");
  await nav("Data sources");
  await expectAbsent(page.getByRole("button", { name: "Add a data source" }), "Add a data source");
  await nav("RAG configs");
  await expectVisible(page.locator("table tbody tr").filter({ hasText: "precise" }));
  await expectAbsent(page.getByRole("button", { name: /New configuration|Edit|Delete/ }), "config write actions");
  await nav("Ask");
  await shot("12-viewer");
});

await step("several organisations: the sign-in asks which one; the switcher changes between them", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("E-mail").fill(MULTI.email);
  await page.getByLabel("Password").fill(MULTI.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectVisible(page.getByRole("alert").filter({ hasText: "several organisations" }));
  await page.getByLabel("Organisation ID").fill(MULTI.orgA);
  await page.getByRole("button", { name: "Sign in" }).click();
  const switcher = page.getByLabel("Organisation", { exact: true });
  await expectVisible(switcher);
  if ((await switcher.inputValue()) !== MULTI.orgA) throw new Error("not signed in to organisation A");
  await switcher.selectOption("+");
  await expectVisible(page.getByRole("heading", { name: "Sign in to another organisation" }));
  if ((await page.getByLabel("E-mail").inputValue()) !== MULTI.email) throw new Error("e-mail not kept");
  await page.getByLabel("Password").fill(MULTI.password);
  await page.getByLabel("Organisation ID").fill(MULTI.orgB);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectVisible(page.getByRole("heading", { name: "Ask", level: 1 }));
  if ((await switcher.inputValue()) !== MULTI.orgB) throw new Error("not switched to organisation B");
  if ((await switcher.locator("option").count()) !== 3) throw new Error("expected two organisations + 'another'");
  await switcher.selectOption(MULTI.orgA);
  await expectVisible(page.getByRole("heading", { name: "Ask", level: 1 }));
  const me = await page.evaluate(async () => {
    const sessions = JSON.parse(sessionStorage.getItem("ragaas.sessions"));
    const active = sessionStorage.getItem("ragaas.active");
    const tokens = sessions.find((s) => s.organization_id === active).tokens;
    const r = await fetch("/v1/auth/me", { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    return r.json();
  });
  if (me.organization_id !== MULTI.orgA) throw new Error(`active token is for ${me.organization_id}`);
  await switcher.focus();
  await shot("13-org-switcher");
});

await browser.close();
const unexpected = consoleErrors.filter((e) => !/status of 4\d\d/.test(e));
if (unexpected.length) {
  console.log("browser console errors:\n" + unexpected.join("\n"));
  process.exit(1);
}
console.log(`${passed} passed, 0 failed`);
