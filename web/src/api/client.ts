// The one way the UI talks to Ragaas: the public REST API with the signed-in user's tokens.
// A 401 triggers one refresh (shared by concurrent requests), then the request is retried once;
// errors arrive as problem+json and become ApiError with a message fit to show.

import { readSse, type SseEvent } from "./sse";
import type { TokenPair } from "./types";

export interface FieldError {
  loc: (string | number)[];
  msg: string;
  type?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail || title || `HTTP ${status}`);
    this.name = "ApiError";
  }

  /** Messages per body field (e.g. `{"name": "String should have at least 1 character"}`). */
  fieldMessages(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.errors) {
      const loc = e.loc[0] === "body" ? e.loc.slice(1) : e.loc;
      const key = loc.join(".");
      if (key && !(key in out)) out[key] = e.msg;
    }
    return out;
  }
}

/** Turn any failed response into an ApiError (problem+json, plain JSON or text). */
export async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const detail = typeof body.detail === "string" ? body.detail : "";
    const title = typeof body.title === "string" ? body.title : response.statusText;
    const errors = Array.isArray(body.errors) ? (body.errors as FieldError[]) : [];
    return new ApiError(response.status, title, detail || title || `HTTP ${response.status}`, errors);
  } catch {
    const detail = text.trim().slice(0, 300) || response.statusText || `HTTP ${response.status}`;
    return new ApiError(response.status, response.statusText, detail);
  }
}

export type Query = Record<string, string | number | boolean | string[] | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.append(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface ClientOptions {
  baseUrl?: string;
  tokens?: TokenPair | null;
  /** Called with new tokens after login/refresh, and with null once the session is lost. */
  onTokens?: (tokens: TokenPair | null) => void;
  fetchImpl?: typeof fetch;
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

export class ApiClient {
  readonly baseUrl: string;
  private tokens: TokenPair | null;
  private readonly onTokens: (tokens: TokenPair | null) => void;
  private readonly fetchImpl: typeof fetch;
  private refreshing: Promise<boolean> | null = null;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/$/, "");
    this.tokens = options.tokens ?? null;
    this.onTokens = options.onTokens ?? (() => undefined);
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  /** Exchange e-mail and password for tokens; does not need a session. */
  async login(email: string, password: string, organizationId?: string): Promise<TokenPair> {
    const body: Record<string, string> = { email, password };
    if (organizationId) body.organization_id = organizationId;
    const response = await this.fetchImpl(this.baseUrl + "/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await errorFrom(response);
    const tokens = (await response.json()) as TokenPair;
    this.setTokens(tokens);
    return tokens;
  }

  signOut(): void {
    this.setTokens(null);
  }

  private setTokens(tokens: TokenPair | null): void {
    this.tokens = tokens;
    this.onTokens(tokens);
  }

  /** One refresh at a time; false (and signed out) when the refresh token is refused. */
  refresh(): Promise<boolean> {
    if (this.refreshing) return this.refreshing;
    const refreshToken = this.tokens?.refresh_token;
    if (!refreshToken) return Promise.resolve(false);
    this.refreshing = (async () => {
      try {
        const response = await this.fetchImpl(this.baseUrl + "/v1/auth/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: refreshToken }),
        });
        if (!response.ok) {
          this.setTokens(null);
          return false;
        }
        this.setTokens((await response.json()) as TokenPair);
        return true;
      } catch {
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private authHeaders(extra?: HeadersInit): Headers {
    const headers = new Headers(extra);
    if (this.tokens) headers.set("Authorization", `Bearer ${this.tokens.access_token}`);
    return headers;
  }

  /** A raw authenticated response (2xx, or throws ApiError); refreshes once on 401. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const send = () =>
      this.fetchImpl(this.baseUrl + path, { ...init, headers: this.authHeaders(init.headers) });
    let response = await send();
    if (response.status === 401 && this.tokens && (await this.refresh())) response = await send();
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const init: RequestInit = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const response = await this.fetch(withQuery(path, query), init);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, undefined, query);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body ?? {});
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>("DELETE", path);
  }

  /** POST a JSON body and read the answer as server-sent events (the chat stream). */
  async stream(
    path: string,
    body: unknown,
    onEvent: (event: SseEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const response = await this.fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.body) throw new ApiError(response.status, "No body", "The stream had no body.");
    await readSse(response.body, onEvent);
  }

  /** Fetch a file (e.g. a CSV report) with the token and hand it to the browser as a download. */
  async download(path: string, filename: string): Promise<Blob> {
    const response = await this.fetch(path);
    const blob = await response.blob();
    if (typeof document !== "undefined") {
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }
    return blob;
  }

  /**
   * Multipart upload with progress: fetch cannot report upload progress, XMLHttpRequest can.
   * Refreshes and retries once on 401, like every other call.
   */
  async upload<T>(
    path: string,
    form: FormData,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<T> {
    const attempt = () =>
      new Promise<{ status: number; text: string; statusText: string }>((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", this.baseUrl + path);
        if (this.tokens) xhr.setRequestHeader("Authorization", `Bearer ${this.tokens.access_token}`);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.onprogress = (e) => {
          if (onProgress && e.lengthComputable) onProgress({ loaded: e.loaded, total: e.total });
        };
        xhr.onload = () =>
          resolve({ status: xhr.status, text: xhr.responseText, statusText: xhr.statusText });
        xhr.onerror = () => reject(new ApiError(0, "Network error", "The upload failed."));
        xhr.send(form);
      });
    let result = await attempt();
    if (result.status === 401 && this.tokens && (await this.refresh())) result = await attempt();
    const response = new Response(result.text || null, {
      status: result.status,
      statusText: result.statusText,
    });
    if (!response.ok) throw await errorFrom(response);
    return JSON.parse(result.text) as T;
  }
}
