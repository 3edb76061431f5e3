// Shapes of the public REST API (see /openapi.json); only what the UI reads or sends.

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type?: string;
  expires_in?: number;
}

export interface Me {
  user_id: string;
  organization_id: string;
  role: string;
  permissions: string[];
  api_key_id: string | null;
}

export type Permission =
  | "org:admin"
  | "data:read"
  | "data:write"
  | "query"
  | "query:read"
  | "rag:config"
  | "rules:write";

export const ALL_PERMISSIONS: Permission[] = [
  "org:admin",
  "data:read",
  "data:write",
  "query",
  "query:read",
  "rag:config",
  "rules:write",
];

export const ROLES = ["admin", "developer", "analyst", "viewer"] as const;

export interface Citation {
  n: number;
  chunk_id: number;
  document_id: string;
  external_id: string | null;
  title: string;
  url: string | null;
  snippet: string;
}

export interface ChatDone {
  query_id: string;
  answer: string;
  citations: Citation[];
  metrics: Record<string, unknown>;
  blocked?: boolean;
}

export type SearchMode = "hybrid" | "dense" | "lexical";

export interface SearchFilters {
  labels?: string[];
  exclude_labels?: string[];
  data_source_ids?: string[];
  document_ids?: string[];
  metadata?: Record<string, unknown>;
}

export interface SearchResult {
  chunk_id: number;
  document_id: string;
  external_id: string | null;
  title: string;
  url: string | null;
  content: string;
  score: number;
  metadata: Record<string, unknown>;
  labels?: string[];
}

export interface SearchResponse {
  results: SearchResult[];
  mode: SearchMode;
  timings_ms: Record<string, number>;
  blocked?: string | null;
}

export interface DocumentOut {
  id: string;
  data_source_id: string | null;
  external_id: string | null;
  title: string;
  url: string | null;
  filename: string | null;
  content_type: string;
  metadata: Record<string, unknown>;
  labels: string[];
  size_bytes: number;
  status: string;
  error: string | null;
  chunk_count: number;
  created_at: string;
  updated_at: string;
  duplicate?: boolean;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface ChunkOut {
  id: number;
  chunk_number: number;
  content: string;
  token_count: number;
  metadata: Record<string, unknown>;
  embedded: boolean;
}

export interface ConnectorType {
  type: string;
  description: string;
  config_schema: JsonSchema;
}

export interface SyncRun {
  id: string;
  data_source_id: string;
  trigger: string;
  status: string;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  counts: Record<string, number>;
  errors: Record<string, unknown>[];
}

export interface DataSource {
  id: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
  labels: string[];
  cron: string | null;
  next_sync_at: string | null;
  last_refresh_at: string | null;
  created_at: string;
  document_count: number;
  last_run: SyncRun | null;
}

export interface RagParams {
  mode?: SearchMode | null;
  lexical_weight?: number | null;
  candidates?: number | null;
  top_k?: number | null;
  filters?: SearchFilters | null;
  rerank?: boolean | null;
  rerank_depth?: number | null;
  context_window?: number | null;
  llm_model?: string | null;
  temperature?: number | null;
  max_tokens?: number | null;
  system_prompt?: string | null;
  citation_style?: "numeric" | "none" | null;
  answer_language?: string | null;
}

export interface RagConfig {
  id: string;
  name: string;
  version: number;
  is_default: boolean;
  params: RagParams;
  created_at: string;
}

export type Stage = "before_retrieval" | "after_retrieval" | "after_generation";
export type RuleType = "guardrail" | "business_logic" | "filter";

export interface Rule {
  id: string;
  name: string;
  type: RuleType;
  stage: Stage;
  condition: string;
  action: Record<string, unknown>;
  priority: number;
  active: boolean;
  created_at: string;
}

export interface RuleDryRun {
  blocked: boolean;
  message: string | null;
  query: string;
  filters: Record<string, unknown>;
  config: string | null;
  instructions: string[];
  answer: string | null;
  fired: Record<string, unknown>[];
  errors: Record<string, unknown>[];
}

export interface QueryOut {
  id: string;
  created_at: string;
  query: string;
  answer: string | null;
  rating: number | null;
  feedback_comment: string | null;
}

export interface UserOut {
  id: string;
  organization_id: string;
  email: string;
  role: string;
  groups: string[];
  active: boolean;
  created_at: string;
}

export interface ApiKeyOut {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

export interface ApiKeyCreated extends ApiKeyOut {
  key: string;
}

/** The subset of JSON Schema that pydantic emits for connector configs. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  writeOnly?: boolean;
  pattern?: string;
  minLength?: number;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}
