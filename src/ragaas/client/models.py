"""The client's own response and request models.

They mirror the server's schemas but are defined here so that ``ragaas.client`` imports with
httpx and pydantic alone (the server's modules pull in SQLAlchemy, torch and the rules engine).
Unknown fields are ignored, so a newer server that adds fields does not break an older client.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

SearchMode = Literal["hybrid", "dense", "lexical"]
DocumentStatus = Literal["queued", "processing", "ready", "failed"]
Role = Literal["admin", "developer", "analyst", "viewer"]
Scope = Literal[
    "org:admin", "data:read", "data:write", "query", "query:read", "rag:config", "rules:write"
]
Stage = Literal["before_retrieval", "after_retrieval", "after_generation"]
RuleType = Literal["guardrail", "business_logic", "filter"]


class Model(BaseModel):
    """Base of every model: ignores fields it does not know."""

    model_config = ConfigDict(extra="ignore")


# --- auth, users, API keys ---------------------------------------------------------------------


class TokenPair(Model):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (a scheme name)
    expires_in: int


class Me(Model):
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    permissions: list[str]
    api_key_id: uuid.UUID | None = None


class QuotaItem(Model):
    limit: int  # 0: unlimited
    usage: int


class Quota(Model):
    documents: QuotaItem
    storage_bytes: QuotaItem
    queries_per_day: QuotaItem


class User(Model):
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    name: str | None = Field(default=None, description="From single sign-on")
    role: str
    groups: list[str] = Field(default_factory=list)
    active: bool
    created_at: datetime


class ApiKey(Model):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key itself: shown once, never retrievable again")


# --- documents ---------------------------------------------------------------------------------


class Document(Model):
    id: uuid.UUID
    organization_id: uuid.UUID
    data_source_id: uuid.UUID | None = None
    external_id: str | None = None
    title: str
    url: str | None = None
    filename: str | None = None
    content_type: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    content_hash: str
    size_bytes: int
    status: str
    error: str | None = None
    chunk_count: int
    created_at: datetime
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """Ingestion is over: ``ready`` or ``failed``."""
        return self.status in ("ready", "failed")


class DocumentAccepted(Document):
    duplicate: bool = Field(default=False, description="Identical content was already ingested")


class DocumentPage(Model):
    items: list[Document]
    total: int
    limit: int
    offset: int


class Chunk(Model):
    id: int
    chunk_number: int
    content: str
    token_count: int
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedded: bool


# --- search and chat ---------------------------------------------------------------------------


class SearchFilters(Model):
    """Restrict retrieval; every field is optional and they combine with AND."""

    labels: list[str] = Field(default_factory=list, description="Documents carrying all of these")
    exclude_labels: list[str] = Field(default_factory=list)
    data_source_ids: list[uuid.UUID] = Field(default_factory=list)
    document_ids: list[uuid.UUID] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class SearchResult(Model):
    chunk_id: int
    document_id: uuid.UUID
    external_id: str | None = None
    title: str
    url: str | None = None
    content: str
    score: float
    metadata: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)


class SearchResponse(Model):
    results: list[SearchResult]
    mode: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    blocked: str | None = Field(default=None, description="A rule's message when one blocked it")


class Citation(Model):
    n: int = Field(description="The number used in the answer text, as [n]")
    chunk_id: int
    document_id: uuid.UUID
    external_id: str | None = None
    title: str
    url: str | None = None
    snippet: str


class ChatResponse(Model):
    answer: str
    citations: list[Citation]
    query_id: uuid.UUID
    metrics: dict[str, Any] = Field(default_factory=dict)
    blocked: bool = False


# --- RAG configurations ------------------------------------------------------------------------


class RagParams(Model):
    """A configuration's parameters; unset ones fall back to the server's settings."""

    mode: SearchMode | None = None
    lexical_weight: float | None = None
    candidates: int | None = None
    top_k: int | None = None
    filters: SearchFilters | None = None
    rerank: bool | None = None
    rerank_depth: int | None = None
    context_window: int | None = None
    llm_model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system_prompt: str | None = None
    citation_style: Literal["numeric", "none"] | None = None
    answer_language: str | None = None


class RagConfig(Model):
    id: uuid.UUID
    name: str
    version: int
    is_default: bool
    params: RagParams
    created_at: datetime


# --- rules -------------------------------------------------------------------------------------


class Rule(Model):
    id: uuid.UUID
    name: str
    type: str
    stage: str
    condition: str
    action: dict[str, Any]
    priority: int
    active: bool
    created_at: datetime


class RuleTestResult(Model):
    """What the active rules would do to a sample query (nothing is retrieved or recorded)."""

    blocked: bool
    message: str | None = None
    query: str
    filters: dict[str, Any] = Field(default_factory=dict)
    config: str | None = None
    instructions: list[str] = Field(default_factory=list)
    answer: str | None = None
    fired: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[Any] = Field(default_factory=list)


# --- data sources ------------------------------------------------------------------------------


class SyncRun(Model):
    id: uuid.UUID
    data_source_id: uuid.UUID
    trigger: str
    status: str
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    errors: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        """The run is over (succeeded, failed or anything else but queued/running)."""
        return self.status not in ("queued", "running")


class DataSource(Model):
    id: uuid.UUID
    name: str
    type: str
    config: dict[str, Any] = Field(default_factory=dict, description="Secrets are masked")
    labels: list[str] = Field(default_factory=list)
    cron: str | None = None
    next_sync_at: datetime | None = None
    last_refresh_at: datetime | None = None
    created_at: datetime
    document_count: int
    last_run: SyncRun | None = None


class DataSourceType(Model):
    type: str
    description: str
    config_schema: dict[str, Any]


# --- alerts ------------------------------------------------------------------------------------

AlertKind = Literal["sync_failed", "source_stale", "guardrail_fired", "low_rating", "error_rate"]


class Webhook(Model):
    url: str = Field(description="In full for admins; only its origin for other readers")
    secret: str = Field(description="Always masked")


class Alert(Model):
    id: uuid.UUID
    name: str
    kind: str
    threshold: float | None = None
    window_minutes: int | None = None
    min_events: int | None = None
    source_id: uuid.UUID | None = None
    rule_name: str | None = None
    webhook: Webhook | None = None
    emails: list[str] = Field(default_factory=list)
    active: bool
    state: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class Delivery(Model):
    id: uuid.UUID
    alert_id: uuid.UUID
    event_id: uuid.UUID
    kind: str
    channel: str = Field(description="webhook or email")
    target: str
    status: str = Field(description="pending (retrying), sent or failed (gave up)")
    attempts: int
    last_error: str | None = None
    response_status: int | None = None
    test: bool
    created_at: datetime
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class DeliveryPage(Model):
    items: list[Delivery]
    total: int
    limit: int
    offset: int


# --- query history -----------------------------------------------------------------------------


class QueryRecord(Model):
    id: uuid.UUID
    created_at: datetime
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    kind: str
    query: str
    answer: str | None = None
    config_name: str | None = None
    blocked: bool
    rating: int | None = None
    feedback_comment: str | None = None


class QueryDetail(QueryRecord):
    citations: list[dict[str, Any]] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)


class QueryPage(Model):
    items: list[QueryRecord]
    total: int
    limit: int
    offset: int


# --- analytics rows ----------------------------------------------------------------------------


class VolumeRow(Model):
    bucket: datetime
    total: int
    search: int
    chat: int
    blocked: int


class LatencyRow(Model):
    stage: str
    queries: int
    p50_ms: float
    p95_ms: float
    max_ms: float


class UsageRow(Model):
    group: str | None = Field(
        default=None,
        validation_alias=AliasChoices("user", "config", "day", "model", "group"),
        description="The user id, config name, day or model, as asked with group_by",
    )
    queries: int
    tokens_in: int
    tokens_out: int
    cost: float


class TopQueryRow(Model):
    query: str
    count: int
    last_asked: datetime


class NoResultRow(Model):
    id: uuid.UUID
    created_at: datetime
    kind: str
    query: str
    user_id: uuid.UUID | None = None


class RatedRow(Model):
    id: uuid.UUID
    created_at: datetime
    query: str
    answer: str | None = None
    rating: int
    feedback_comment: str | None = None
    user_id: uuid.UUID | None = None


class CitedDocumentRow(Model):
    document_id: uuid.UUID
    title: str
    citations: int
    answers: int


class UncitedDocumentRow(Model):
    document_id: uuid.UUID
    title: str
    created_at: datetime


class GuardrailRow(Model):
    rule_id: str | None = None
    name: str | None = None
    hits: int
    blocked: int


# --- single sign-on ----------------------------------------------------------------------------


class SsoProvider(Model):
    id: uuid.UUID
    slug: str
    name: str
    issuer: str
    client_id: str
    client_secret: str | None = Field(default=None, description="Masked when set.")
    scopes: list[str]
    groups_claim: str
    group_roles: dict[str, str]
    default_role: str | None = None
    allowed_domains: list[str] = Field(default_factory=list)
    enabled: bool
    login_url: str
    redirect_uri: str
    created_at: datetime
