/**
 * A thin, typed client of the Ragaas REST API over `fetch` (Node 18+, Deno, Bun, browsers).
 *
 * Request and response types come from `schema.ts`, generated from the server's OpenAPI document
 * (`npm run generate`), so a server change shows up as a type error here rather than at run time.
 * Every failure is a `RagaasError` subclass carrying the problem+json `status`, `title`, `detail`.
 */

import type { components, operations } from "./schema.js";

type Schemas = components["schemas"];
type QueryOf<K extends keyof operations> = NonNullable<operations[K]["parameters"]["query"]>;

export type Me = Schemas["Me"];
export type TokenPair = Schemas["TokenPair"];
export type User = Schemas["UserOut"];
export type UserCreate = Schemas["UserCreate"];
export type UserUpdate = Schemas["UserUpdate"];
export type ApiKey = Schemas["ApiKeyOut"];
export type ApiKeyCreate = Schemas["ApiKeyCreate"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type Document = Schemas["DocumentOut"];
export type DocumentAccepted = Schemas["DocumentAccepted"];
export type DocumentPage = Schemas["Page_DocumentOut_"];
export type Chunk = Schemas["ChunkOut"];
export type DocumentCreate = NonNullable<
  operations["documents_create"]["requestBody"]
>["content"]["application/json"];
export type DocumentListQuery = QueryOf<"documents_list">;
export type SearchRequest = Schemas["SearchRequest"];
export type SearchOptions = Omit<SearchRequest, "query">;
export type SearchResponse = Schemas["SearchResponse"];
export type SearchResult = Schemas["SearchResult"];
export type SearchFilters = Schemas["SearchFilters"];
export type ChatRequest = Schemas["ChatRequest"];
export type ChatOptions = Omit<ChatRequest, "query" | "stream">;
export type ChatResponse = Schemas["ChatResponse"];
export type Citation = Schemas["Citation"];
export type RagParams = Schemas["RagParams"];
export type RagConfig = Schemas["RagConfigOut"];
export type RagConfigCreate = Schemas["RagConfigCreate"];
export type RagConfigUpdate = Schemas["RagConfigUpdate"];
export type Rule = Schemas["RuleOut"];
export type RuleCreate = Schemas["RuleCreate"];
export type RuleUpdate = Schemas["RuleUpdate"];
export type RuleTest = Schemas["RuleTest"];
export type DataSource = Schemas["DataSourceOut"];
export type DataSourceCreate = Schemas["DataSourceCreate"];
export type DataSourceUpdate = Schemas["DataSourceUpdate"];
export type SyncRun = Schemas["SyncRunOut"];
export type QueryRecord = Schemas["QueryOut"];
export type QueryDetail = Schemas["QueryDetail"];
export type QueryPage = Schemas["Page_QueryOut_"];
export type QueryListQuery = QueryOf<"queries_list">;
export type Feedback = Schemas["Feedback"];
export type Alert = Schemas["AlertOut"];
export type AlertCreate = Schemas["AlertCreate"];
export type AlertUpdate = Schemas["AlertUpdate"];
export type Delivery = Schemas["DeliveryOut"];
export type DeliveryPage = Schemas["Page_DeliveryOut_"];

/** `GET /v1/data-sources/types`: a connector and the JSON schema of its config. */
export interface DataSourceType {
  type: string;
  description: string;
  config_schema: Record<string, unknown>;
}

/** `POST /v1/rules/test`: what the active rules would do (nothing is retrieved or recorded). */
export interface RuleTestResult {
  blocked: boolean;
  message: string | null;
  query: string;
  filters: Record<string, unknown>;
  config: string | null;
  instructions: string[];
  answer: string | null;
  fired: Array<Record<string, unknown>>;
  errors: unknown[];
}

// The analytics reports are not typed in the OpenAPI document (JSON or CSV): their rows here.
export interface VolumeRow { bucket: string; total: number; search: number; chat: number; blocked: number }
export interface LatencyRow { stage: string; queries: number; p50_ms: number; p95_ms: number; max_ms: number }
export interface UsageRow {
  user?: string | null; config?: string; day?: string; model?: string;
  queries: number; tokens_in: number; tokens_out: number; cost: number;
}
export interface TopQueryRow { query: string; count: number; last_asked: string }
export interface NoResultRow { id: string; created_at: string; kind: string; query: string; user_id: string | null }
export interface RatedRow {
  id: string; created_at: string; query: string; answer: string | null; rating: number;
  feedback_comment: string | null; user_id: string | null;
}
export interface CitedDocumentRow { document_id: string; title: string; citations: number; answers: number }
export interface UncitedDocumentRow { document_id: string; title: string; created_at: string }
export interface GuardrailRow { rule_id: string | null; name: string | null; hits: number; blocked: number }

export type AnalyticsReport =
  | "volume" | "latency" | "usage" | "top-queries" | "no-results" | "lowest-rated"
  | "cited-documents" | "uncited-documents" | "guardrails";

/** The report window (ISO 8601 strings or Dates); the server defaults to the last 30 days. */
export interface Window { from?: string | Date; to?: string | Date }

// --- errors -------------------------------------------------------------------------------------

/** Any failed call; `status` is undefined when no HTTP response arrived. */
export class RagaasError extends Error {
  readonly status: number | undefined;
  readonly title: string;
  readonly detail: string;
  readonly body: Record<string, unknown>;
  readonly headers: Headers | undefined;

  constructor(detail: string, init: {
    status?: number; title?: string; body?: Record<string, unknown>; headers?: Headers; cause?: unknown;
  } = {}) {
    super(init.status === undefined ? detail : `${init.status} ${init.title ?? ""}: ${detail}`,
      init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.title = init.title ?? "";
    this.detail = detail;
    this.body = init.body ?? {};
    this.headers = init.headers;
  }
}
/** 401: the API key or token is missing, wrong, expired or revoked. */
export class AuthenticationError extends RagaasError {}
/** 403: the role or the key's scopes do not allow this. */
export class PermissionDeniedError extends RagaasError {}
/** 404: no such resource in the caller's organisation. */
export class NotFoundError extends RagaasError {}
/** 409: it already exists, or changed meanwhile. */
export class ConflictError extends RagaasError {}
/** 422: the request is malformed; `errors` lists each problem with its location. */
export class ValidationError extends RagaasError {
  get errors(): Array<{ loc: Array<string | number>; msg: string; type: string }> {
    const errors = this.body["errors"];
    return Array.isArray(errors) ? errors : [];
  }
}
/** 429: too many requests; `retryAfter` is the server's hint in seconds. */
export class RateLimitError extends RagaasError {
  get retryAfter(): number | undefined {
    const value = Number(this.headers?.get("retry-after") ?? Number.NaN);
    return Number.isFinite(value) ? value : undefined;
  }
}
/** 5xx: the server (or the LLM behind it, 502) failed. */
export class ServerError extends RagaasError {}
/** The server could not be reached (refused, DNS, TLS, timeout). */
export class ConnectionError extends RagaasError {}
/** A document's ingestion ended `failed`; `document.error` says why. */
export class IngestionError extends RagaasError {
  constructor(readonly document: Document) {
    super(`document ${document.id} failed to ingest: ${document.error ?? "unknown error"}`);
  }
}

const BY_STATUS: Record<number, typeof RagaasError> = {
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: ValidationError,
  429: RateLimitError,
};

/** The error for a problem+json body (also used for a streamed `error` event). */
export function errorFromProblem(status: number, body: Record<string, unknown>, headers?: Headers): RagaasError {
  const Kind = status >= 500 ? ServerError : BY_STATUS[status] ?? RagaasError;
  const detail = typeof body["detail"] === "string" ? body["detail"] : `HTTP ${status}`;
  const title = typeof body["title"] === "string" ? body["title"] : `HTTP ${status}`;
  return new Kind(detail, { status, title, body, ...(headers ? { headers } : {}) });
}

async function errorFromResponse(response: Response): Promise<RagaasError> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    body = { title: response.statusText, detail: text.trim().slice(0, 500) || response.statusText };
  }
  return errorFromProblem(response.status, body as Record<string, unknown>, response.headers);
}

// --- streaming ----------------------------------------------------------------------------------

/** Server-sent events from a byte stream: `[event, data]` pairs, data parsed as JSON. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<[string, unknown]> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  const dispatch = (): [string, unknown] | undefined => {
    if (data.length === 0) return undefined;
    const raw = data.join("\n");
    const out: [string, unknown] = [event, parseJson(raw)];
    event = "message";
    data = [];
    return out;
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          const ready = dispatch();
          if (ready) yield ready;
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
        }
      }
      if (done) break;
    }
    const last = dispatch();
    if (last) yield last;
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}

/** A network failure while reading the stream, as a `ConnectionError`. */
async function* withConnectionErrors<T>(events: AsyncGenerator<T>, url: string): AsyncGenerator<T> {
  try {
    yield* events;
  } catch (error) {
    if (error instanceof RagaasError) throw error;
    throw new ConnectionError(`the stream from ${url} broke off: ${reason(error)}`, { cause: error });
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * A streamed answer: `for await (const text of stream)` yields the text as it is generated;
 * afterwards `stream.result` is the recorded answer with citations and `query_id`. An `error`
 * event (e.g. the LLM failed mid-answer) is thrown as the matching `RagaasError`.
 */
export class ChatStream implements AsyncIterable<string> {
  /** The text received so far. */
  text = "";
  #result: ChatResponse | undefined;
  #started = false;

  constructor(private readonly open: () => Promise<Response>) {}

  /** The final answer; only once the stream has been read to the end. */
  get result(): ChatResponse {
    if (this.#result === undefined) throw new RagaasError("the stream is not finished: iterate it first");
    return this.#result;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    if (this.#started) throw new RagaasError("a ChatStream can be iterated only once");
    this.#started = true;
    const response = await this.open();
    if (response.body === null) throw new RagaasError("the server sent an empty stream");
    for await (const [event, data] of withConnectionErrors(serverSentEvents(response.body), response.url)) {
      const fields = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
      if (event === "delta") {
        const text = String(fields["text"] ?? "");
        this.text += text;
        yield text;
      } else if (event === "done") {
        this.#result = data as ChatResponse;
      } else if (event === "error") {
        const status = typeof fields["status"] === "number" ? fields["status"] : 502;
        throw errorFromProblem(status, fields);
      }
    }
    if (this.#result === undefined) throw new RagaasError("the answer stream ended before its 'done' event");
  }

  /** Read the rest of the stream and return the final answer. */
  async finalResponse(): Promise<ChatResponse> {
    if (!this.#started) {
      for await (const _ of this) {
        // drain
      }
    }
    return this.result;
  }
}

// --- the client ---------------------------------------------------------------------------------

export interface RagaasOptions {
  /** Default: `RAGAAS_URL` from the environment, else http://127.0.0.1:8000. */
  baseUrl?: string;
  /** An API key (`rg_...`) or a JWT access token. Default: `RAGAAS_API_KEY`. */
  apiKey?: string;
  /** Per request, in milliseconds (default 120000: answers from a slow LLM take a while). */
  timeoutMs?: number;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** Query parameters: unset ones are left out, arrays repeat the key, Dates in ISO 8601. */
type Query = object;

interface RequestInitOptions {
  query?: Query | undefined;
  json?: unknown;
  form?: FormData;
  stream?: boolean;
}

/** The environment's variable, where there is one (Node, Deno with env access, Bun). */
function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name] || undefined;
}

const enc = encodeURIComponent;

/** The innermost message of a fetch failure (Node's "fetch failed" hides it in `cause`). */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message || error.message : error.message;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions { timeoutMs?: number; pollMs?: number }

export class Ragaas {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: RagaasOptions = {}) {
    this.baseUrl = (options.baseUrl ?? env("RAGAAS_URL") ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
    this.#apiKey = options.apiKey ?? env("RAGAAS_API_KEY");
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#headers = { Accept: "application/json", ...options.headers };
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  // --- plumbing -------------------------------------------------------------------------------

  async #send(method: string, path: string, init: RequestInitOptions = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(init.query ?? {}) as Array<[string, unknown]>) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
        url.searchParams.append(key, item instanceof Date ? item.toISOString() : String(item));
      }
    }
    const headers: Record<string, string> = { ...this.#headers };
    if (this.#apiKey) headers["Authorization"] = `Bearer ${this.#apiKey}`;
    let body: string | FormData | undefined;
    if (init.form !== undefined) {
      body = init.form;
    } else if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers["Content-Type"] = "application/json";
    }
    if (init.stream) headers["Accept"] = "text/event-stream";
    // The timeout bounds the wait for the response's start: a streamed answer may run longer.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no response within ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    let response: Response;
    try {
      response = await this.#fetch(url, { method, headers, body: body ?? null, signal: controller.signal });
    } catch (error) {
      throw new ConnectionError(`cannot reach ${this.baseUrl}: ${reason(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  async #json<T>(method: string, path: string, init: RequestInitOptions = {}): Promise<T> {
    const response = await this.#send(method, path, init);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  // --- health ---------------------------------------------------------------------------------

  /** Liveness: `{status: "ok"}`. */
  health(): Promise<Record<string, string>> {
    return this.#json("GET", "/health");
  }

  /** Readiness: the database answers and is migrated (`ServerError` 503 when not). */
  ready(): Promise<Record<string, string>> {
    return this.#json("GET", "/ready");
  }

  // --- auth, users, API keys ------------------------------------------------------------------

  readonly auth = {
    login: (email: string, password: string, organizationId?: string): Promise<TokenPair> =>
      this.#json("POST", "/v1/auth/login", {
        json: { email, password, ...(organizationId ? { organization_id: organizationId } : {}) },
      }),
    refresh: (refreshToken: string): Promise<TokenPair> =>
      this.#json("POST", "/v1/auth/refresh", { json: { refresh_token: refreshToken } }),
    me: (): Promise<Me> => this.#json("GET", "/v1/auth/me"),
  };

  readonly users = {
    list: (): Promise<User[]> => this.#json("GET", "/v1/users"),
    create: (body: UserCreate): Promise<User> => this.#json("POST", "/v1/users", { json: body }),
    update: (userId: string, body: UserUpdate): Promise<User> =>
      this.#json("PATCH", `/v1/users/${enc(userId)}`, { json: body }),
  };

  readonly apiKeys = {
    list: (): Promise<ApiKey[]> => this.#json("GET", "/v1/api-keys"),
    /** The returned `key` is shown once. */
    create: (body: ApiKeyCreate): Promise<ApiKeyCreated> => this.#json("POST", "/v1/api-keys", { json: body }),
    revoke: (keyId: string): Promise<ApiKey> => this.#json("DELETE", `/v1/api-keys/${enc(keyId)}`),
  };

  // --- documents ------------------------------------------------------------------------------

  readonly documents = {
    /** Submit a text (plain or Markdown) document; ingestion runs in the background. */
    create: (body: DocumentCreate): Promise<DocumentAccepted> =>
      this.#json("POST", "/v1/documents", { json: body }),
    /** Upload a file (txt, md, html, pdf, docx). */
    upload: (
      file: Blob | Uint8Array | ArrayBuffer,
      options: {
        filename: string; contentType?: string; title?: string; externalId?: string; url?: string;
        labels?: string[]; metadata?: Record<string, unknown>;
      },
    ): Promise<DocumentAccepted> => {
      const form = new FormData();
      const type = options.contentType ? { type: options.contentType } : {};
      const blob = file instanceof Blob ? file : new Blob([new Uint8Array(file)], type);
      form.append("file", blob, options.filename);
      if (options.title) form.append("title", options.title);
      if (options.externalId) form.append("external_id", options.externalId);
      if (options.url) form.append("url", options.url);
      if (options.labels) form.append("labels", options.labels.join(","));
      if (options.metadata) form.append("metadata", JSON.stringify(options.metadata));
      return this.#json("POST", "/v1/documents", { form });
    },
    list: (query: DocumentListQuery = {}): Promise<DocumentPage> =>
      this.#json("GET", "/v1/documents", { query }),
    get: (documentId: string): Promise<Document> => this.#json("GET", `/v1/documents/${enc(documentId)}`),
    chunks: (documentId: string): Promise<Chunk[]> =>
      this.#json("GET", `/v1/documents/${enc(documentId)}/chunks`),
    delete: async (documentId: string): Promise<void> => {
      await this.#send("DELETE", `/v1/documents/${enc(documentId)}`);
    },
    /** Poll until ready; throws `IngestionError` if it failed, `RagaasError` on timeout. */
    waitUntilReady: async (documentId: string, { timeoutMs = 300_000, pollMs = 500 }: WaitOptions = {}): Promise<Document> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const document = await this.documents.get(documentId);
        if (document.status === "ready") return document;
        if (document.status === "failed") throw new IngestionError(document);
        if (Date.now() >= deadline) {
          throw new RagaasError(`document ${documentId} still ${document.status} after ${timeoutMs} ms`);
        }
        await sleep(pollMs);
      }
    },
  };

  // --- search and chat ------------------------------------------------------------------------

  /** Passages ranked for `query` (hybrid by default). */
  search(query: string, options: SearchOptions = {}): Promise<SearchResponse> {
    return this.#json("POST", "/v1/search", { json: { ...options, query } });
  }

  /** An answer with numbered citations, recorded in the query history. */
  chat(query: string, options: ChatOptions = {}): Promise<ChatResponse> {
    return this.#json("POST", "/v1/chat", { json: { ...options, query } });
  }

  /** The answer as it is generated (server-sent events); see `ChatStream`. */
  chatStream(query: string, options: ChatOptions = {}): ChatStream {
    return new ChatStream(() =>
      this.#send("POST", "/v1/chat", { json: { ...options, query, stream: true }, stream: true }),
    );
  }

  // --- RAG configurations and rules -----------------------------------------------------------

  readonly ragConfigs = {
    list: (): Promise<RagConfig[]> => this.#json("GET", "/v1/rag-configs"),
    create: (body: RagConfigCreate): Promise<RagConfig> => this.#json("POST", "/v1/rag-configs", { json: body }),
    get: (name: string): Promise<RagConfig> => this.#json("GET", `/v1/rag-configs/${enc(name)}`),
    /** A new version with the whole new `params` (and/or make it the default). */
    update: (name: string, body: RagConfigUpdate): Promise<RagConfig> =>
      this.#json("PUT", `/v1/rag-configs/${enc(name)}`, { json: body }),
    delete: async (name: string): Promise<void> => {
      await this.#send("DELETE", `/v1/rag-configs/${enc(name)}`);
    },
    versions: (name: string): Promise<RagConfig[]> => this.#json("GET", `/v1/rag-configs/${enc(name)}/versions`),
  };

  readonly rules = {
    list: (): Promise<Rule[]> => this.#json("GET", "/v1/rules"),
    create: (body: RuleCreate): Promise<Rule> => this.#json("POST", "/v1/rules", { json: body }),
    get: (ruleId: string): Promise<Rule> => this.#json("GET", `/v1/rules/${enc(ruleId)}`),
    update: (ruleId: string, body: RuleUpdate): Promise<Rule> =>
      this.#json("PATCH", `/v1/rules/${enc(ruleId)}`, { json: body }),
    delete: async (ruleId: string): Promise<void> => {
      await this.#send("DELETE", `/v1/rules/${enc(ruleId)}`);
    },
    /** What the active rules would do to a sample query (nothing is retrieved or recorded). */
    test: (body: RuleTest): Promise<RuleTestResult> => this.#json("POST", "/v1/rules/test", { json: body }),
  };

  // --- data sources ---------------------------------------------------------------------------

  readonly dataSources = {
    types: (): Promise<DataSourceType[]> => this.#json("GET", "/v1/data-sources/types"),
    list: (): Promise<DataSource[]> => this.#json("GET", "/v1/data-sources"),
    create: (body: DataSourceCreate): Promise<DataSource> => this.#json("POST", "/v1/data-sources", { json: body }),
    get: (sourceId: string): Promise<DataSource> => this.#json("GET", `/v1/data-sources/${enc(sourceId)}`),
    update: (sourceId: string, body: DataSourceUpdate): Promise<DataSource> =>
      this.#json("PATCH", `/v1/data-sources/${enc(sourceId)}`, { json: body }),
    delete: async (sourceId: string): Promise<void> => {
      await this.#send("DELETE", `/v1/data-sources/${enc(sourceId)}`);
    },
    /** Sync now (or get the run already queued or running). */
    sync: (sourceId: string): Promise<SyncRun> => this.#json("POST", `/v1/data-sources/${enc(sourceId)}/sync`),
    runs: (sourceId: string, query: { limit?: number } = {}): Promise<SyncRun[]> =>
      this.#json("GET", `/v1/data-sources/${enc(sourceId)}/runs`, { query }),
    /** Poll until the run is over, whatever its outcome. */
    waitForRun: async (sourceId: string, runId: string, { timeoutMs = 300_000, pollMs = 500 }: WaitOptions = {}): Promise<SyncRun> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = (await this.dataSources.runs(sourceId, { limit: 200 })).find((r) => r.id === runId);
        if (run && run.status !== "queued" && run.status !== "running") return run;
        if (Date.now() >= deadline) throw new RagaasError(`sync run ${runId} not finished after ${timeoutMs} ms`);
        await sleep(pollMs);
      }
    },
  };

  // --- alerts -------------------------------------------------------------------------------

  readonly alerts = {
    list: (): Promise<Alert[]> => this.#json("GET", "/v1/alerts"),
    create: (body: AlertCreate): Promise<Alert> => this.#json("POST", "/v1/alerts", { json: body }),
    get: (alertId: string): Promise<Alert> => this.#json("GET", `/v1/alerts/${enc(alertId)}`),
    /** Only the fields sent change; `null` clears an optional one. */
    update: (alertId: string, body: AlertUpdate): Promise<Alert> =>
      this.#json("PATCH", `/v1/alerts/${enc(alertId)}`, { json: body }),
    delete: async (alertId: string): Promise<void> => {
      await this.#send("DELETE", `/v1/alerts/${enc(alertId)}`);
    },
    /** Send a `test` event through each channel now: the deliveries, `sent` or `failed`. */
    test: (alertId: string): Promise<Delivery[]> => this.#json("POST", `/v1/alerts/${enc(alertId)}/test`),
    deliveries: (
      alertId: string,
      query: { status?: "pending" | "sent" | "failed"; limit?: number; offset?: number } = {},
    ): Promise<DeliveryPage> => this.#json("GET", `/v1/alerts/${enc(alertId)}/deliveries`, { query }),
  };

  // --- query history and analytics ------------------------------------------------------------

  readonly queries = {
    list: (query: QueryListQuery = {}): Promise<QueryPage> => this.#json("GET", "/v1/queries", { query }),
    get: (queryId: string): Promise<QueryDetail> => this.#json("GET", `/v1/queries/${enc(queryId)}`),
    /** Rate an answer 1-5 (the asker or an admin). */
    feedback: (queryId: string, body: Feedback): Promise<QueryRecord> =>
      this.#json("POST", `/v1/queries/${enc(queryId)}/feedback`, { json: body }),
  };

  /** The organisation's audit log (admins): filters by actor, action prefix, object, window. */
  audit(
    query: Window & {
      actor?: string; action?: string; object_type?: string; object_id?: string;
      limit?: number; offset?: number;
    } = {},
  ): Promise<{ items: Array<Record<string, unknown>>; total: number; limit: number; offset: number }> {
    return this.#json("GET", "/v1/audit", { query });
  }

  readonly analytics = {
    volume: (query: Window & { interval?: "hour" | "day" } = {}): Promise<VolumeRow[]> =>
      this.#json("GET", "/v1/analytics/volume", { query }),
    latency: (query: Window = {}): Promise<LatencyRow[]> => this.#json("GET", "/v1/analytics/latency", { query }),
    usage: (query: Window & { group_by?: "user" | "config" | "day" | "model" } = {}): Promise<UsageRow[]> =>
      this.#json("GET", "/v1/analytics/usage", { query }),
    topQueries: (query: Window & { limit?: number } = {}): Promise<TopQueryRow[]> =>
      this.#json("GET", "/v1/analytics/top-queries", { query }),
    noResults: (query: Window & { limit?: number } = {}): Promise<NoResultRow[]> =>
      this.#json("GET", "/v1/analytics/no-results", { query }),
    lowestRated: (query: Window & { limit?: number } = {}): Promise<RatedRow[]> =>
      this.#json("GET", "/v1/analytics/lowest-rated", { query }),
    citedDocuments: (query: Window & { limit?: number } = {}): Promise<CitedDocumentRow[]> =>
      this.#json("GET", "/v1/analytics/cited-documents", { query }),
    uncitedDocuments: (query: Window & { limit?: number } = {}): Promise<UncitedDocumentRow[]> =>
      this.#json("GET", "/v1/analytics/uncited-documents", { query }),
    guardrails: (query: Window = {}): Promise<GuardrailRow[]> =>
      this.#json("GET", "/v1/analytics/guardrails", { query }),
    /** A report as CSV text (header row first; empty when there are no rows). */
    csv: async (report: AnalyticsReport, query: Window & { [key: string]: string | number | Date | undefined } = {}): Promise<string> => {
      const response = await this.#send("GET", `/v1/analytics/${report}`, { query: { ...query, format: "csv" } });
      return response.text();
    },
  };
}
