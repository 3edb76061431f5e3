// The API client against a real HTTP server (node:http) that speaks the API's conventions:
// problem+json errors, 401 on an expired access token, /v1/auth/refresh, SSE on /v1/chat.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiClient, ApiError, withQuery } from "../src/api/client";
import type { TokenPair } from "../src/api/types";

let server: Server;
let base = "";
let valid = "access-1";
let refreshes = 0;
const seen: { method: string; url: string; auth?: string; body: string }[] = [];

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = "";
    req.on("data", (c) => (s += c));
    req.on("end", () => resolve(s));
  });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const text = await body(req);
    seen.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization, body: text });
    const problem = (status: number, title: string, detail: string, extra = {}) => {
      res.writeHead(status, { "Content-Type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title, status, detail, ...extra }));
    };
    const json = (status: number, data: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(data));
    };
    if (req.url === "/v1/auth/login") {
      const b = JSON.parse(text);
      if (b.password !== "right") return problem(401, "Not authenticated", "wrong e-mail or password");
      if (b.email === "multi@x.test" && !b.organization_id)
        return problem(400, "Bad request", "this e-mail belongs to several organisations: send organization_id");
      return json(200, { access_token: valid, refresh_token: "refresh-1", expires_in: 900 });
    }
    if (req.url === "/v1/auth/refresh") {
      refreshes += 1;
      if (JSON.parse(text).refresh_token !== "refresh-1") return problem(401, "Not authenticated", "bad refresh");
      valid = `access-${refreshes + 1}`;
      return json(200, { access_token: valid, refresh_token: "refresh-1", expires_in: 900 });
    }
    if (req.headers.authorization !== `Bearer ${valid}`) return problem(401, "Not authenticated", "token expired");
    if (req.url?.startsWith("/v1/echo")) return json(200, { url: req.url, body: text ? JSON.parse(text) : null });
    if (req.url === "/v1/rules") {
      return problem(422, "Validation failed", "body.name: String should have at least 1 character", {
        errors: [
          { loc: ["body", "name"], msg: "String should have at least 1 character", type: "string_too_short" },
          { loc: ["body", "action", "message"], msg: "Field required", type: "missing" },
        ],
      });
    }
    if (req.url === "/v1/gone") {
      res.writeHead(204);
      return res.end();
    }
    if (req.url === "/v1/html") {
      res.writeHead(502, { "Content-Type": "text/html" });
      return res.end("<h1>Bad gateway</h1>");
    }
    if (req.url === "/v1/chat") {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write('event: delta\ndata: {"text": "Hel');
      setTimeout(() => {
        res.write('lo"}\n\nevent: done\ndata: {"query_id": "q", "answer": "Hello", "citations": []}\n\n');
        res.end();
      }, 20);
      return;
    }
    problem(404, "Not found", `no route ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  valid = "access-1";
  refreshes = 0;
  seen.length = 0;
});

async function signedIn(): Promise<{ client: ApiClient; tokens: (TokenPair | null)[] }> {
  const tokens: (TokenPair | null)[] = [];
  const client = new ApiClient({ baseUrl: base, onTokens: (t) => tokens.push(t) });
  await client.login("a@x.test", "right");
  return { client, tokens };
}

describe("ApiClient", () => {
  it("logs in and sends the access token", async () => {
    const { client, tokens } = await signedIn();
    expect(tokens[0]?.access_token).toBe("access-1");
    const r = await client.get<{ url: string }>("/v1/echo", { status: "ready", label: ["a", "b"], title: "" });
    expect(r.url).toBe("/v1/echo?status=ready&label=a&label=b");
    expect(seen.at(-1)?.auth).toBe("Bearer access-1");
  });

  it("turns a refused login into the API's one-line message", async () => {
    const client = new ApiClient({ baseUrl: base });
    const err = await client.login("a@x.test", "wrong").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).message).toBe("wrong e-mail or password");
    const multi = (await client.login("multi@x.test", "right").catch((e: unknown) => e)) as ApiError;
    expect(multi.detail).toMatch(/several organisations/);
    await client.login("multi@x.test", "right", "org-2");
    expect(JSON.parse(seen.at(-1)?.body ?? "")).toEqual({
      email: "multi@x.test",
      password: "right",
      organization_id: "org-2",
    });
  });

  it("refreshes once on 401 and retries, sharing one refresh between concurrent calls", async () => {
    const { client, tokens } = await signedIn();
    valid = "access-rotated"; // the server no longer takes access-1
    refreshes = 0;
    // The refresh issues access-2; make the server accept what refresh hands out.
    const results = await Promise.all([
      client.post<{ body: unknown }>("/v1/echo", { n: 1 }),
      client.post<{ body: unknown }>("/v1/echo", { n: 2 }),
    ]);
    expect(results.map((r) => r.body)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(refreshes).toBe(1);
    expect(tokens.at(-1)?.access_token).toBe("access-2");
  });

  it("signs out when the refresh token is refused", async () => {
    const tokens: (TokenPair | null)[] = [];
    const client = new ApiClient({
      baseUrl: base,
      tokens: { access_token: "stale", refresh_token: "revoked" },
      onTokens: (t) => tokens.push(t),
    });
    const err = (await client.get("/v1/echo").catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(401);
    expect(tokens).toEqual([null]);
    expect(client.signedIn).toBe(false);
  });

  it("keeps validation messages per field", async () => {
    const { client } = await signedIn();
    const err = (await client.post("/v1/rules", {}).catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(422);
    expect(err.message).toBe("body.name: String should have at least 1 character");
    expect(err.fieldMessages()).toEqual({
      name: "String should have at least 1 character",
      "action.message": "Field required",
    });
  });

  it("handles 204 and non-JSON errors", async () => {
    const { client } = await signedIn();
    await expect(client.delete("/v1/gone")).resolves.toBeUndefined();
    const err = (await client.get("/v1/html").catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(502);
    expect(err.message).toBe("<h1>Bad gateway</h1>");
  });

  it("streams server-sent events from a POST", async () => {
    const { client } = await signedIn();
    const events: [string, unknown][] = [];
    await client.stream("/v1/chat", { query: "hi", stream: true }, (e) => events.push([e.event, JSON.parse(e.data)]));
    expect(events).toEqual([
      ["delta", { text: "Hello" }],
      ["done", { query_id: "q", answer: "Hello", citations: [] }],
    ]);
  });
});

describe("withQuery", () => {
  it("drops empty values and repeats lists", () => {
    expect(withQuery("/x", { a: 1, b: null, c: undefined, d: "", e: ["p", "q"], f: false })).toBe(
      "/x?a=1&e=p&e=q&f=false",
    );
    expect(withQuery("/x")).toBe("/x");
  });
});
