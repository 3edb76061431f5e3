/**
 * The TypeScript client against a real Ragaas server: RAGAAS_URL and RAGAAS_API_KEY (an admin key
 * of an empty organisation, e.g. from `ragaas admin bootstrap --json`) name it.
 * Run: `npm run build && RAGAAS_URL=... RAGAAS_API_KEY=... npm test`.
 */

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";

import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  Ragaas,
  RagaasError,
  ValidationError,
  type DocumentAccepted,
} from "../src/index.js";

const url = process.env["RAGAAS_URL"];
const apiKey = process.env["RAGAAS_API_KEY"];
if (!url || !apiKey) throw new Error("set RAGAAS_URL and RAGAAS_API_KEY to run these tests");

const client = new Ragaas({ baseUrl: url, apiKey });
const started = new Date(Date.now() - 60_000);
const QUESTION = "How many days do customers have to return a gadget?";
const REFUNDS =
  "# Refund policy\n\nCustomers may return a gadget within 45 days for a full refund. " +
  "Refunds reach the original card within five business days.";
const PARKING = "# Parking\n\nStaff park their cars in garage P3 on level minus two.\n";

let refunds: DocumentAccepted;
let parking: DocumentAccepted;
let askedId: string;

test("the server is up and the key is an admin's", async () => {
  assert.deepEqual(await client.health(), { status: "ok" });
  assert.deepEqual(await client.ready(), { status: "ready" });
  const me = await client.auth.me();
  assert.equal(me.role, "admin");
  assert.ok(me.permissions.includes("data:write"));
});

test("ingest a JSON text and an uploaded file, and wait until they are ready", async () => {
  refunds = await client.documents.create({
    title: "Refund policy", text: REFUNDS, labels: ["policy"], external_id: "refunds",
  });
  assert.equal(refunds.status, "queued");
  parking = await client.documents.upload(new TextEncoder().encode(PARKING), {
    filename: "parking.md", labels: ["handbook"], metadata: { floor: -2 },
  });
  assert.equal(parking.filename, "parking.md");
  const ready = await client.documents.waitUntilReady(refunds.id, { timeoutMs: 120_000 });
  assert.equal(ready.status, "ready");
  assert.deepEqual((await client.documents.waitUntilReady(parking.id)).metadata, { floor: -2 });

  // Sending the same content again is a no-op (its descriptive fields are taken as sent).
  const again = await client.documents.create({
    title: "Refund policy", text: REFUNDS, labels: ["policy"], external_id: "refunds",
  });
  assert.equal(again.duplicate, true);
  const page = await client.documents.list({ label: ["policy"] });
  assert.deepEqual(page.items.map((d) => d.id), [refunds.id]);
  assert.equal((await client.documents.list({ status: "ready" })).total, 2);
  const chunks = await client.documents.chunks(refunds.id);
  assert.match(chunks[0]?.content ?? "", /45 days/);
});

test("search ranks the refund policy first", async () => {
  const found = await client.search(QUESTION, { top_k: 2 });
  assert.equal(found.results[0]?.title, "Refund policy");
  const lexical = await client.search("garage", { mode: "lexical", filters: { labels: ["handbook"] } });
  assert.deepEqual(lexical.results.map((r) => r.document_id), [parking.id]);
});

test("ask: an answer citing the refund policy, whole and streamed", async () => {
  const answer = await client.chat(QUESTION, { filters: { labels: ["policy"] } });
  assert.ok(answer.answer.length > 0);
  assert.equal(answer.citations[0]?.title, "Refund policy");
  assert.equal(answer.citations[0]?.document_id, refunds.id);
  askedId = answer.query_id;

  const stream = client.chatStream(QUESTION, { filters: { labels: ["policy"] } });
  const deltas: string[] = [];
  for await (const text of stream) deltas.push(text);
  assert.ok(deltas.length > 1, `expected several deltas, got ${JSON.stringify(deltas)}`);
  assert.equal(deltas.join(""), stream.text);
  assert.equal(stream.result.answer, answer.answer);
  assert.equal(stream.result.citations[0]?.title, "Refund policy");
  assert.equal(await stream.finalResponse(), stream.result);
});

test("feedback, history and analytics", async () => {
  const rated = await client.queries.feedback(askedId, { rating: 4, comment: "clear" });
  assert.equal(rated.rating, 4);
  const detail = await client.queries.get(askedId);
  assert.equal(detail.feedback_comment, "clear");
  assert.equal((await client.queries.list({ kind: "chat", from: started.toISOString() })).total, 2);

  const volume = await client.analytics.volume({ from: started, interval: "hour" });
  assert.equal(volume.reduce((sum, row) => sum + row.chat, 0), 2);
  assert.equal(volume.reduce((sum, row) => sum + row.search, 0), 2);
  assert.equal((await client.analytics.lowestRated())[0]?.feedback_comment, "clear");
  assert.equal((await client.analytics.citedDocuments())[0]?.document_id, refunds.id);
  assert.deepEqual((await client.analytics.uncitedDocuments()).map((r) => r.document_id), [parking.id]);
  assert.equal((await client.analytics.topQueries({ limit: 1 }))[0]?.query, QUESTION.toLowerCase());
  assert.ok((await client.analytics.latency()).some((r) => r.stage === "retrieve_ms"));
  assert.ok((await client.analytics.usage({ group_by: "day" }))[0]?.queries === 4);
  assert.deepEqual(await client.analytics.guardrails(), []);
  const csv = await client.analytics.csv("lowest-rated");
  assert.match(csv.split("\n")[0] ?? "", /^id,created_at,query,answer,rating/);
  assert.match(csv, /clear/);
});

test("rag configurations, data sources, rules and alerts", async () => {
  const created = await client.ragConfigs.create({ name: "ts-precise", params: { top_k: 3 } });
  assert.equal(created.version, 1);
  const updated = await client.ragConfigs.update("ts-precise", { params: { top_k: 2 } });
  assert.equal(updated.version, 2);
  assert.equal((await client.ragConfigs.get("ts-precise")).params.top_k, 2);
  assert.deepEqual((await client.ragConfigs.versions("ts-precise")).map((v) => v.version), [2, 1]);
  const answered = await client.chat(QUESTION, { config: "ts-precise" });
  assert.ok(answered.citations.length > 0);
  await client.ragConfigs.delete("ts-precise");
  assert.deepEqual(await client.ragConfigs.list(), []);

  const types = await client.dataSources.types();
  assert.ok(types.some((t) => t.type === "file"));
  assert.deepEqual(await client.dataSources.list(), []);
  const dry = await client.rules.test({ query: "anything" });
  assert.equal(dry.blocked, false);

  // An alert whose webhook goes nowhere: its test delivery fails, with the reason logged.
  const port = await closedPort();
  const alert = await client.alerts.create({
    name: "ts alert", kind: "low_rating", threshold: 2,
    webhook: { url: `http://127.0.0.1:${port}/hook`, secret: "ts-webhook-secret-0123456789" },
  });
  assert.equal(alert.webhook?.secret, "********");
  const [delivery] = await client.alerts.test(alert.id);
  assert.equal(delivery?.status, "failed");
  assert.ok(delivery?.last_error);
  assert.equal((await client.alerts.deliveries(alert.id, { status: "failed" })).total, 1);
  assert.equal((await client.alerts.update(alert.id, { active: false })).active, false);
  assert.deepEqual((await client.alerts.list()).map((a) => a.id), [alert.id]);
  await client.alerts.delete(alert.id);
  await assert.rejects(client.alerts.get(alert.id), NotFoundError);
});

test("failures map to error classes", async () => {
  const stranger = new Ragaas({ baseUrl: url, apiKey: "rg_wrong-key" });
  await assert.rejects(stranger.documents.list(), (error: unknown) => {
    assert.ok(error instanceof AuthenticationError);
    assert.ok(error instanceof RagaasError);
    assert.equal(error.status, 401);
    assert.equal(error.title, "Not authenticated");
    return true;
  });
  await assert.rejects(client.documents.get("00000000-0000-0000-0000-000000000000"), NotFoundError);
  await client.ragConfigs.create({ name: "ts-twice" });
  await assert.rejects(client.ragConfigs.create({ name: "ts-twice" }), ConflictError);
  await assert.rejects(client.search("", { top_k: 0 }), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.status, 422);
    assert.deepEqual(error.errors.map((e) => e.loc.join(".")).sort(), ["body.query", "body.top_k"]);
    return true;
  });
  await assert.rejects(stranger.chatStream(QUESTION).finalResponse(), AuthenticationError);

  const port = await closedPort();
  const nowhere = new Ragaas({ baseUrl: `http://127.0.0.1:${port}`, apiKey });
  await assert.rejects(nowhere.health(), (error: unknown) => {
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.status, undefined);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return true;
  });
});

test("deleting a document", async () => {
  await client.documents.delete(parking.id);
  await assert.rejects(client.documents.get(parking.id), NotFoundError);
});

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
